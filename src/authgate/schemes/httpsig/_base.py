"""Component values and the signature base of RFC 9421 (§2.1, §2.2, §2.3, §2.5).

Derived components (§2.2): ``@method`` (§2.2.1), ``@target-uri`` (§2.2.2), ``@authority``
(§2.2.3), ``@scheme`` (§2.2.4), ``@request-target`` (§2.2.5), ``@path`` (§2.2.6),
``@query`` (§2.2.7), and ``@status`` (§2.2.9) for responses. HTTP fields (§2.1) are
covered by their canonical value, or per field line with ``;bs`` (§2.1.3).

Refused, with a 400 that says so: ``;sf`` and ``;key`` (§2.1.1, §2.1.2: re-serializing an
arbitrary field needs its structured type, which a generic verifier does not know),
``;req`` (§2.4), ``;tr`` (§2.1.4: trailers are not seen by authgate) and ``@query-param``
(§2.2.8).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from authgate.errors import InvalidRequest
from authgate.http.request import RequestView

from ._sf import InnerList, Item, Token, serialize_item, serialize_params

__all__ = ["ComponentMissing", "covered_names", "signature_base"]

_DEFAULT_PORTS = {"http": "80", "https": "443"}
_REFUSED_DERIVED = {
    "@query-param": "the @query-param component is not supported; cover @query instead",
    "@signature-params": "@signature-params must not be listed as a covered component",
}
_FIELD_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~")


class ComponentMissing(Exception):
    """A covered component is absent from the message (RFC 9421 §2.5 step 2.4: fail)."""


def _authority(view: RequestView) -> str:
    # §2.2.3: lower-cased host; the port only when it is not the scheme's default.
    authority = view.authority.lower()
    host, sep, port = authority.rpartition(":")
    if sep and "]" not in port and port == _DEFAULT_PORTS.get(view.scheme.lower()):
        return host
    return authority


def _derived(view: RequestView, name: str, status: int | None) -> str:
    if status is not None:
        if name == "@status":
            return str(status)
        raise InvalidRequest(f"{name} needs ;req in a response signature, which is unsupported")
    if name == "@method":
        return view.method
    if name == "@authority":
        return _authority(view)
    if name == "@path":
        return view.path or "/"
    if name == "@query":
        return "?" + view.query
    if name == "@scheme":
        return view.scheme.lower()
    if name == "@request-target":
        return (view.path or "/") + ("?" + view.query if view.query else "")
    if name == "@target-uri":
        query = "?" + view.query if view.query else ""
        return f"{view.scheme.lower()}://{view.authority}{view.path or '/'}{query}"
    if name == "@status":
        raise InvalidRequest("@status is a response component")
    raise InvalidRequest(_REFUSED_DERIVED.get(name, f"unknown derived component {name}"))


def _field(view: RequestView, name: str, params: tuple[tuple[str, object], ...]) -> str:
    lines = view.headers.get_all(name)
    if not lines:
        raise ComponentMissing(name)
    if not params:
        # §2.1: strip each field line's leading/trailing whitespace, join with ", ".
        return ", ".join(v.strip(" \t") for v in lines)
    if params == (("bs", True),):
        # §2.1.3: each field line as a byte sequence, latin-1 being the wire bytes.
        return ", ".join(
            ":" + base64.b64encode(v.strip(" \t").encode("latin-1")).decode("ascii") + ":"
            for v in lines
        )
    keys = ", ".join(f";{k}" for k, _ in params)
    raise InvalidRequest(f"component parameter(s) {keys} on {name!r} are not supported")


def _check_value(name: str, value: str) -> None:
    # §2.5: the base is ASCII lines; anything else is either an attack on the line
    # structure or a field that needs ;bs.
    if not value.isascii() or not value.replace("\t", " ").isprintable():
        raise InvalidRequest(f"component {name!r} has a non-ASCII or control character")


def _identifier(item: Item) -> str:
    # The common case (a bare name) without the general serializer: this runs per request.
    value = item.value
    if not item.params and isinstance(value, str) and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return serialize_item(item)


def covered_names(covered: InnerList) -> list[str]:
    """The component names of a ``Signature-Input`` member, validated as identifiers.

    Raises:
        InvalidRequest: an entry is not a lower-case string, or is listed twice.
    """
    names: list[str] = []
    seen: set[str] = set()
    for item in covered.items:
        value = item.value
        if not isinstance(value, str) or isinstance(value, Token):
            raise InvalidRequest("covered components must be strings")
        if not value or (not value.startswith("@") and not _FIELD_NAME_CHARS.issuperset(value)):
            raise InvalidRequest("invalid component name")
        ident = _identifier(item)
        if ident in seen:  # §2.5 step 2: a repeated identifier fails
            raise InvalidRequest("component listed twice")
        seen.add(ident)
        names.append(value)
    return names


def signature_base(
    view: RequestView,
    covered: InnerList,
    *,
    status: int | None = None,
    names: Sequence[str] | None = None,
) -> bytes:
    """Build the signature base of RFC 9421 §2.5 for one ``Signature-Input`` member.

    Args:
        view: the request (or, with ``status``, the response headers) being verified.
        covered: the parsed member: the covered components and the signature parameters.
        status: set to a response's status code to build a response's base; then
            ``@status`` and header fields are the only components allowed.
        names: ``covered_names(covered)`` when the caller already computed it.

    Returns:
        The signature base as ASCII bytes, lines joined by ``\\n`` without a final newline.

    Raises:
        ComponentMissing: a covered header field is absent.
        InvalidRequest: an identifier or parameter is malformed or unsupported.
    """
    if names is None:
        names = covered_names(covered)
    lines: list[str] = []
    idents: list[str] = []
    for item, name in zip(covered.items, names, strict=True):
        if name[0] == "@":
            if item.params:
                raise InvalidRequest(f"parameters on {name} are not supported")
            value = _derived(view, name, status)
        else:
            value = _field(view, name, item.params)
        _check_value(name, value)
        ident = _identifier(item)
        idents.append(ident)
        lines.append(f"{ident}: {value}")
    params = serialize_params(covered.params)
    lines.append(f'"@signature-params": ({" ".join(idents)}){params}')
    return "\n".join(lines).encode("ascii")
