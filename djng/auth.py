"""``import djng.auth`` and ``from djng.auth import User, login, login_required``.

``djng.auth`` is one object, callable (``djng.auth(app)``) with the auth helpers
as attributes (see :mod:`djng.batteries.auth`). Importing this module makes the
import system hand out that same object, so the import statements read as the
attribute accesses do.
"""

import sys

from .batteries.auth import auth

sys.modules[__name__] = auth  # type: ignore[assignment]
