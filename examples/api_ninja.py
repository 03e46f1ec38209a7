"""A django-ninja API in one file: schemas, validation, pagination, /docs and /openapi.json.

    pip install django-ninja
    python examples/api_ninja.py            # http://127.0.0.1:8000/api/docs
"""

import djng

# Before ninja is imported: it reads its settings when it loads.
djng.settings(NINJA_PAGINATION_PER_PAGE=2)

from ninja import NinjaAPI, Schema  # noqa: E402
from ninja.pagination import paginate  # noqa: E402

api = NinjaAPI(title="Books")


class BookIn(Schema):
    title: str
    year: int


class BookOut(Schema):
    id: int
    title: str
    year: int


BOOKS = [BookOut(id=1, title="Middlemarch", year=1871), BookOut(id=2, title="Emma", year=1815),
         BookOut(id=3, title="Persuasion", year=1817)]


@api.get("/books", response=list[BookOut])
@paginate
def list_books(request):
    return BOOKS


@api.post("/books", response={201: BookOut})
def add_book(request, book: BookIn):
    new = BookOut(id=len(BOOKS) + 1, **book.dict())
    BOOKS.append(new)
    return 201, new


@api.get("/links")
def links(request):
    """Reversing through the mount: ninja's own names, in its namespace."""
    return {"openapi": djng.reverse(f"{api.urls_namespace}:openapi-json"),
            "docs": djng.reverse(f"{api.urls_namespace}:openapi-view")}


app = djng.Router(djng.mount("api", api))
application = djng.wsgi(app)

if __name__ == "__main__":
    djng.serve(app, "127.0.0.1", 8000)
