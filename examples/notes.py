"""Notes: a complete app in one file, with Django's batteries and no settings.py.

A model and a model form, templates kept in this file, login with sessions and
CSRF protection, flash messages, a JSON endpoint and Django's admin at /admin/.

    python examples/notes.py                    # serves http://127.0.0.1:8000/ (creates db.sqlite3)
    python examples/notes.py createsuperuser    # a user for the admin (and for the notes)
    python examples/notes.py makemigrations     # once the schema matters: migrations/notes/
    python examples/notes.py migrate
"""

import djng
from djng import models


class Note(djng.Model):
    author = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="notes")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return self.title


class NoteForm(djng.forms.ModelForm):
    class Meta:
        model = Note
        fields = ["title", "body"]


TEMPLATES = {
    "base.html": """<!doctype html>
<html><head><meta charset="utf-8"><title>{% block title %}Notes{% endblock %}</title>
<link rel="stylesheet" href="{% load static %}{% static 'admin/css/base.css' %}"></head>
<body><main style="max-width: 40em; margin: 2em auto">
{% if user.is_authenticated %}
  <form method="post" action="{% url 'logout' %}">{% csrf_token %}
    {{ user.username }} <button>Log out</button></form>
{% endif %}
{% for message in messages %}<p class="{{ message.tags }}">{{ message }}</p>{% endfor %}
{% block content %}{% endblock %}
</main></body></html>""",
    "index.html": """{% extends "base.html" %}
{% block content %}
<h1>Your notes</h1>
<form method="post">{% csrf_token %}{{ form }}<button>Save</button></form>
<ul>{% for note in notes %}
  <li><strong>{{ note.title }}</strong> {{ note.body|linebreaksbr }}</li>
{% empty %}<li>No notes yet.</li>{% endfor %}</ul>
<p><a href="{% url 'api-notes' %}">JSON</a> · <a href="{% url 'admin:index' %}">Admin</a></p>
{% endblock %}""",
    "login.html": """{% extends "base.html" %}
{% block title %}Log in{% endblock %}
{% block content %}
<h1>Log in</h1>
<form method="post">{% csrf_token %}{{ form }}
<input type="hidden" name="next" value="{{ next }}"><button>Log in</button></form>
{% endblock %}""",
}


@djng.login_required
def index(request):
    form = NoteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        note = form.save(commit=False)
        note.author = request.user
        note.save()
        djng.messages.success(request, f"Saved “{note.title}”.")
        return djng.redirect("home")
    notes = Note.objects.filter(author=request.user)
    # Rendered lazily: an outer layer may still change the template or the context.
    return djng.TemplateResponse(request, "index.html", {"form": form, "notes": notes})


@djng.login_required
def api_notes(request):
    notes = Note.objects.filter(author=request.user)
    return [
        {"id": n.id, "title": n.title, "body": n.body, "created": n.created} for n in notes
    ]


app = djng.Router(
    djng.path("", {"GET": index, "POST": index}, name="home"),
    djng.path("login", djng.auth.login_view("login.html", next_page="home"), name="login"),
    djng.path("logout", djng.auth.logout_view(next_page="login"), name="logout"),
    djng.path("api/notes", api_notes, name="api-notes"),
    djng.admin(models=[Note]),  # mounts itself at admin/
)

app = djng.reconfigure(
    djng.static(djng.auth(app, login_url="login", session_backend="db")),
    templates=djng.templates.Django(
        strings=TEMPLATES,
        context_processors=[
            "django.template.context_processors.request",
            "django.contrib.auth.context_processors.auth",
            "django.contrib.messages.context_processors.messages",
        ],
    ),
)

if __name__ == "__main__":
    djng.serve(app, debug=True)
