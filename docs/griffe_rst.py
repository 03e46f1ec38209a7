"""A griffe extension for the API reference: djng's docstrings use reST roles
(:func:`path`, :class:`~djng.testing.Client`, ...), which Markdown would show
as written; each becomes inline code (`path`, `Client`)."""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|data|mod|exc|obj|const):`([^`]+)`")


def _code(match: re.Match) -> str:
    text = match.group(1)
    if text.endswith(">") and "<" in text:  # :func:`title <target>`
        text = text[: text.rindex("<")].strip()
    elif text.startswith("~"):  # :class:`~a.b.C` shows C
        text = text[1:].rsplit(".", 1)[-1]
    return f"`{text}`"


class ReSTRoles(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(_code, obj.docstring.value)
