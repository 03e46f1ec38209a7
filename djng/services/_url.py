"""The parts of reading a backend URL that every service shares.

``djng.cache.configure('redis://...')``, ``djng.db.configure('postgres://...')``
and ``djng.mail.configure('smtp://user:pass@host:587?tls=1')`` each parse their
URLs in their own module (``from_url``); these helpers split a URL, read its
options and say what is wrong with it, and never show the password.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import SplitResult, parse_qsl, urlsplit

__all__ = ["flag", "no_more", "number", "redact", "redact_within", "split"]

# The regexes are compiled on first use (by re's cache), not at import.
_SCHEME = r"[A-Za-z][A-Za-z0-9+.-]*:/*"
# A query option whose name says it holds a secret (password=, api_key=, token=...).
_SECRET_OPTION = r"(?i)([?&;][^=&;#]*(?:pass|pwd|secret|token|key|auth|credential)[^=&;#]*=)[^&;#]*"
_PASSWORD_IN_TEXT = r"(://[^:/@\s]*:)[^@\s]*@"


def redact(url: str) -> str:
    """``url`` with its password, and query options that hold secrets, as ``***``.

    It makes no assumption that the URL is well formed: whatever precedes the
    last ``@`` after the user name counts as the password (``postgres:/u:pw@h``,
    ``u:pw@h`` and a password with an unencoded ``/``, ``?`` or ``@`` are hidden
    too; at worst more is hidden), and so does the value of any query option
    named like ``password``, ``secret``, ``token`` or ``key``.
    """
    text = str(url)
    scheme = re.match(_SCHEME, text)
    start = scheme.end() if scheme else 0
    at = text.rfind("@")
    if at >= start:
        if ":" not in text[start:at] and scheme and not scheme.group().endswith("/"):
            start = 0  # 'user:password@host': what looked like a scheme is the user
        user, colon, _ = text[start:at].partition(":")
        if colon:
            text = text[:start] + user + ":***" + text[at:]
    return re.sub(_SECRET_OPTION, r"\1***", text)


def redact_within(text: str) -> str:
    """``text`` (an error message, say) with the password of every URL in it replaced."""
    return re.sub(_PASSWORD_IN_TEXT, r"\1***@", text)


def split(url: str, what: str, schemes: tuple[str, ...]) -> tuple[SplitResult, dict[str, str]]:
    """``url``'s parts and its query options, once its scheme and port are known good."""
    if not isinstance(url, str) or "://" not in url:
        raise ValueError(
            f"{what} URL {redact(str(url))!r} has no scheme; it should look like "
            f"{schemes[0]}://..."
        )
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        raise ValueError(
            f"Unsupported {what} URL scheme '{scheme}://' in {redact(url)!r}; use one of: "
            + ", ".join(f"{s}://" for s in schemes)
        )
    try:
        if not scheme.startswith("sqlite"):  # sqlite://:memory: has no port
            parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise ValueError(
            f"The port in {what} URL {redact(url)!r} is not a number from 0 to 65535 (if the "
            "password has / ? # or @ in it, percent-encode them)"
        ) from None
    return parts, dict(parse_qsl(parts.query, keep_blank_values=True))


def flag(query: dict[str, str], name: str, url: str, what: str) -> bool:
    """Take the option ``name`` (1/0, true/false, yes/no, on/off) out of ``query``."""
    value = query.pop(name, "0").lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"The option {name}={value!r} in {what} URL {redact(url)!r} must be 1 or 0")


def number(query: dict[str, str], name: str, url: str, what: str) -> float | None:
    """Take the numeric option ``name`` out of ``query`` (None when absent)."""
    value = query.pop(name, None)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        raise ValueError(
            f"The option {name}={value!r} in {what} URL {redact(url)!r} must be a number"
        ) from None


def no_more(
    query: dict[str, str], url: str, what: str, known: str, candidates: Iterable[str] = ()
) -> None:
    """Fail if ``query`` has options left that nobody took, naming the ``known`` ones
    (and the closest of ``candidates`` to a misspelt option)."""
    if query:
        import difflib

        close = [
            match for name in sorted(query)
            for match in difflib.get_close_matches(name, list(candidates), n=1)
        ]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(
            f"Unknown option(s) {', '.join(sorted(query))} in {what} URL {redact(url)!r}"
            f"{hint}; known: {known}"
        )
