"""Django's batteries for djng apps: sessions, CSRF, auth, static files and the admin.

``djng/__init__.py`` exports them (``djng.sessions``, ``djng.auth``, ...) and
imports this package on first use, so an app that does not use them pays nothing.
"""
