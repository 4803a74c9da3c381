"""A small, strict parser and serializer for the RFC 8941 structured fields RFC 9421 needs.

Implements the Dictionary (RFC 8941 §3.2, parsed per §4.2.2), Inner List (§3.1.1, §4.2.1.2),
Parameters (§3.1.2, §4.2.3.2) and the bare items Integer (§3.3.1), String (§3.3.3),
Token (§3.3.4), Byte Sequence (§3.3.5) and Boolean (§3.3.6), plus their serialization
(§4.1). Deliberately stricter than RFC 8941 where leniency only adds ambiguity to a
security decision:

* Decimals (§3.3.2) are refused: no RFC 9421 or RFC 9530 parameter uses them.
* A duplicated dictionary key or parameter key is refused instead of "last one wins"
  (§4.2.2 step 2.3), so two parties can never read different signatures from one field.
* Byte sequences must be canonical, padded base64.

Every malformed input raises :class:`StructuredFieldError` (a :class:`ValueError`).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

__all__ = [
    "BareItem",
    "InnerList",
    "Item",
    "Params",
    "StructuredFieldError",
    "Token",
    "parse_dictionary",
    "serialize_inner_list",
    "serialize_item",
    "serialize_params",
]

_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_TOKEN = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*")
_INTEGER = re.compile(r"-?[0-9]{1,15}")
_BYTES = re.compile(r":([A-Za-z0-9+/=]*):")
_STRING_SIMPLE = re.compile(r'"([\x20\x21\x23-\x5b\x5d-\x7e]*)"')
_STRING_CHARS = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")
_MAX_FIELD = 16_384


class StructuredFieldError(ValueError):
    """The field value is not a valid structured field of the expected type."""


class Token(str):
    """An RFC 8941 Token (§3.3.4), kept distinct from a String when serialized."""

    __slots__ = ()


BareItem = int | str | bytes | bool
Params = tuple[tuple[str, BareItem], ...]


@dataclass(frozen=True, slots=True)
class Item:
    """A bare item with its parameters (RFC 8941 §3.3)."""

    value: BareItem
    params: Params = ()

    def param(self, key: str) -> BareItem | None:
        """The value of parameter ``key``, or None when absent."""
        return _param(self.params, key)


@dataclass(frozen=True, slots=True)
class InnerList:
    """An inner list of items with its parameters (RFC 8941 §3.1.1)."""

    items: tuple[Item, ...]
    params: Params = ()

    def param(self, key: str) -> BareItem | None:
        """The value of parameter ``key``, or None when absent."""
        return _param(self.params, key)


def _param(params: Params, key: str) -> BareItem | None:
    for k, v in params:
        if k == key:
            return v
    return None


class _Parser:
    __slots__ = ("pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> StructuredFieldError:
        return StructuredFieldError(f"{what} at offset {self.pos}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_sp(self) -> None:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] == " ":
            pos += 1
        self.pos = pos

    def skip_ows(self) -> None:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        self.pos = pos

    def key(self) -> str:
        m = _KEY.match(self.text, self.pos)
        if m is None:
            raise self.fail("expected a key")
        self.pos = m.end()
        return m.group()

    def bare_item(self) -> BareItem:
        text = self.text
        c = text[self.pos : self.pos + 1]
        if c == '"':
            m = _STRING_SIMPLE.match(text, self.pos)
            if m is not None:  # the common case: no escapes
                self.pos = m.end()
                return m.group(1)
            return self.escaped_string()
        if c == "-" or c.isdigit():
            m = _INTEGER.match(text, self.pos)
            if m is None:
                raise self.fail("invalid integer")
            self.pos = m.end()
            nxt = self.peek()
            if nxt == ".":
                raise self.fail("decimals are not supported")
            if nxt.isdigit():
                raise self.fail("integer too long")
            return int(m.group())
        if c == ":":
            m = _BYTES.match(text, self.pos)
            if m is None:
                raise self.fail("invalid byte sequence")
            try:
                raw = base64.b64decode(m.group(1), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise self.fail("invalid base64") from exc
            if base64.b64encode(raw).decode("ascii") != m.group(1):
                raise self.fail("non-canonical base64")
            self.pos = m.end()
            return raw
        if c == "?":
            flag = text[self.pos + 1 : self.pos + 2]
            if flag not in ("0", "1"):
                raise self.fail("invalid boolean")
            self.pos += 2
            return flag == "1"
        if c == "*" or (c.isascii() and c.isalpha()):
            m = _TOKEN.match(text, self.pos)
            if m is None:  # pragma: no cover - the first character always matches
                raise self.fail("invalid token")
            self.pos = m.end()
            return Token(m.group())
        raise self.fail("expected a bare item")

    def escaped_string(self) -> str:
        out: list[str] = []
        pos = self.pos + 1
        text = self.text
        while True:
            m = _STRING_CHARS.match(text, pos)
            if m is not None:  # always: the pattern matches the empty string
                out.append(m.group())
                pos = m.end()
            c = text[pos : pos + 1]
            if c == '"':
                self.pos = pos + 1
                return "".join(out)
            if c == "\\" and text[pos + 1 : pos + 2] in ('"', "\\"):
                out.append(text[pos + 1])
                pos += 2
                continue
            self.pos = pos
            raise self.fail("invalid string")

    def params(self) -> Params:
        out: list[tuple[str, BareItem]] = []
        text = self.text
        while text[self.pos : self.pos + 1] == ";":
            self.pos += 1
            self.skip_sp()
            key = self.key()
            value: BareItem = True
            if text[self.pos : self.pos + 1] == "=":
                self.pos += 1
                value = self.bare_item()
            if any(k == key for k, _ in out):
                raise self.fail(f"duplicate parameter {key!r}")
            out.append((key, value))
        return tuple(out)

    def item(self) -> Item:
        value = self.bare_item()
        return Item(value, self.params())

    def item_or_inner_list(self) -> Item | InnerList:
        text = self.text
        if text[self.pos : self.pos + 1] != "(":
            return self.item()
        self.pos += 1
        items: list[Item] = []
        while True:
            self.skip_sp()
            if text[self.pos : self.pos + 1] == ")":
                self.pos += 1
                return InnerList(tuple(items), self.params())
            items.append(Item(self.bare_item(), self.params()))
            if text[self.pos : self.pos + 1] not in (" ", ")"):
                raise self.fail("expected SP or ')' in inner list")


def parse_dictionary(text: str) -> dict[str, Item | InnerList]:
    """Parse a Dictionary field value (RFC 8941 §4.2.2), strictly.

    Args:
        text: the combined field value (several field lines joined with ``", "``).

    Returns:
        The members in order; a member without a value is ``Item(True, params)``.

    Raises:
        StructuredFieldError: on any syntax error, a duplicate key, a decimal, or
            a value longer than 16 KiB.
    """
    if len(text) > _MAX_FIELD:
        raise StructuredFieldError("field value too long")
    if not text.isascii():
        raise StructuredFieldError("non-ASCII field value")
    p = _Parser(text.strip(" "))
    out: dict[str, Item | InnerList] = {}
    if not p.text:
        return out
    while True:
        key = p.key()
        if key in out:
            raise p.fail(f"duplicate dictionary key {key!r}")
        if p.peek() == "=":
            p.pos += 1
            out[key] = p.item_or_inner_list()
        else:
            out[key] = Item(True, p.params())
        p.skip_ows()
        if p.pos == len(p.text):
            return out
        if p.peek() != ",":
            raise p.fail("expected ','")
        p.pos += 1
        p.skip_ows()
        if p.pos == len(p.text):
            raise p.fail("trailing comma")


def _serialize_bare(value: BareItem) -> str:
    # bool before int: bool is a subclass of int
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode("ascii") + ":"
    if isinstance(value, Token):
        return str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def serialize_params(params: Params) -> str:
    """Serialize parameters (RFC 8941 §4.1.1.2)."""
    return "".join(f";{k}" if v is True else f";{k}={_serialize_bare(v)}" for k, v in params)


def serialize_item(item: Item) -> str:
    """Serialize an item with its parameters (RFC 8941 §4.1.3)."""
    return _serialize_bare(item.value) + serialize_params(item.params)


def serialize_inner_list(inner: InnerList) -> str:
    """Serialize an inner list with its parameters (RFC 8941 §4.1.1.1)."""
    return (
        "("
        + " ".join(serialize_item(i) for i in inner.items)
        + ")"
        + serialize_params(inner.params)
    )
