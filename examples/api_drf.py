"""A Django REST framework API in one file: no settings.py, no urls.py.

An ``APIView``, a ``ModelViewSet`` on a ``djng.Model`` behind a
``DefaultRouter`` (with django-filter's filters), the browsable API, token
authentication (with its migration) and throttling that counts in ``djng.cache``.

    pip install djangorestframework django-filter
    python examples/api_drf.py migrate           # the books table and DRF's token table
    python examples/api_drf.py                   # http://127.0.0.1:8000/api/
    python examples/api_drf.py drf_create_token ada   # a token for user ada
"""

import djng

# Settings first, then the apps: packages read their settings when they load.
djng.settings(
    REST_FRAMEWORK={
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "rest_framework.authentication.TokenAuthentication",
            "rest_framework.authentication.SessionAuthentication",
        ],
        "DEFAULT_PERMISSION_CLASSES": [
            "rest_framework.permissions.IsAuthenticatedOrReadOnly",
        ],
        "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle"],
        "DEFAULT_THROTTLE_RATES": {"anon": "60/minute"},
        "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    }
)
djng.install("rest_framework", "rest_framework.authtoken", "django_filters")

from rest_framework import routers, serializers, views, viewsets  # noqa: E402
from rest_framework.response import Response  # noqa: E402

from djng import models  # noqa: E402


class Book(djng.Model):
    title = models.CharField(max_length=200)
    author = models.CharField(max_length=100)
    year = models.IntegerField()


class BookSerializer(serializers.ModelSerializer):
    class Meta:
        model = Book
        fields = ["id", "title", "author", "year"]


class BookViewSet(viewsets.ModelViewSet):
    queryset = Book.objects.order_by("id")
    serializer_class = BookSerializer
    filterset_fields = ["author", "year"]


class WhoAmI(views.APIView):
    """Who the request is authenticated as (a token, or the session's user)."""

    def get(self, request):
        return Response({"user": request.user.username or None})


router = routers.DefaultRouter()
router.register("books", BookViewSet)

app = djng.auth(
    djng.Router(
        djng.path("whoami", WhoAmI.as_view()),
        djng.mount("api", router.urls),
        djng.mount("api-auth", "rest_framework.urls"),  # the browsable API's log in and out
    )
)
application = djng.wsgi(app)

if __name__ == "__main__":
    djng.serve(djng.static(app), "127.0.0.1", 8000, debug=True)
