"""Parsing of OAuth endpoint requests: form bodies only, each parameter at most once.

RFC 6749 §3.2 and §4.4.2 (token requests are ``application/x-www-form-urlencoded`` in
the body, UTF-8), §3.1/§3.2 ("parameters sent without a value MUST be treated as if they
were omitted"; "request and response parameters MUST NOT be included more than once"),
RFC 7009 §2.1 and RFC 7662 §2.1 (the same for revocation and introspection), RFC 9700
§4.3 (no credentials in the query string). Sans-I/O: bytes in, a dict out, or
:class:`~authgate.errors.InvalidRequest`.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from authgate.errors import InvalidRequest

__all__ = ["FORM_CONTENT_TYPE", "parse_form"]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
_MAX_FIELDS = 32
_MAX_VALUE = 8192
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def parse_form(body: bytes, content_type: str | None, query: bytes = b"") -> dict[str, str]:
    """The parameters of an OAuth POST.

    Args:
        body: the raw request body.
        content_type: the ``Content-Type`` header.
        query: the raw query string (must be empty: parameters belong in the body).

    Raises:
        InvalidRequest: wrong media type, parameters in the query, invalid UTF-8 or
            percent-encoding, too many or too long values, a duplicated parameter.
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != FORM_CONTENT_TYPE:
        raise InvalidRequest(f"The body must be {FORM_CONTENT_TYPE}.")
    if query:
        raise InvalidRequest("Send parameters in the body, not in the query string.")
    try:
        text = body.decode("ascii")  # percent-encoded UTF-8 is ASCII on the wire
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=False,
            encoding="utf-8",
            errors="strict",
            max_num_fields=_MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("The body is not a valid form.") from None
    out: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in pairs:
        if name in seen:
            raise InvalidRequest(f"Parameter {name[:40]!r} is repeated.")
        seen.add(name)
        if len(value) > _MAX_VALUE or len(name) > 64:
            raise InvalidRequest("A parameter is too long.")
        if _CONTROL.search(value) is not None:
            raise InvalidRequest("Parameters must not contain control characters.")
        if value:  # empty means omitted (RFC 6749 §3.1)
            out[name] = value
    return out
