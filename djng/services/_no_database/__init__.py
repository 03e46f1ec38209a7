"""The Django backend of the ``'default'`` alias until ``djng.db`` sets up its default.

Django's dummy backend, whose errors point at djng's way of configuring a
database instead of at a ``settings.DATABASES`` that a djng app does not have.
"""
