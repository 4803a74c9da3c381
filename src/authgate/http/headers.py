"""Request headers as received: case-insensitive, multi-valued, read-only."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["Headers"]


class Headers:
    """Case-insensitive, multi-valued, read-only headers.

    Holds the raw ASGI byte pairs (names lower-cased) and decodes a value as latin-1 text
    only when it is asked for: most requests only ever look at one or two headers.
    """

    __slots__ = ("_raw",)

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._raw = tuple(
            (k.lower().encode("latin-1"), v.encode("latin-1", "replace")) for k, v in items
        )

    @classmethod
    def from_asgi(cls, raw: Iterable[tuple[bytes, bytes]]) -> Headers:
        h = cls.__new__(cls)
        h._raw = tuple((k.lower(), v) for k, v in raw)
        return h

    def get(self, name: str, default: str | None = None) -> str | None:
        """First value of ``name`` (lower-case), or ``default``."""
        key = name.encode("latin-1")
        for k, v in self._raw:
            if k == key:
                return v.decode("latin-1")
        return default

    def get_all(self, name: str) -> list[str]:
        key = name.encode("latin-1")
        return [v.decode("latin-1") for k, v in self._raw if k == key]

    def count(self, name: str) -> int:
        key = name.encode("latin-1")
        return sum(1 for k, _ in self._raw if k == key)

    def items(self) -> tuple[tuple[str, str], ...]:
        return tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in self._raw)

    def raw(self) -> tuple[tuple[bytes, bytes], ...]:
        """The headers as received: lower-cased names, undecoded values."""
        return self._raw

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = name.encode("latin-1")
        return any(k == key for k, _ in self._raw)

    def __repr__(self) -> str:  # never print values: they may be credentials
        return f"Headers(names={[k.decode('latin-1') for k, _ in self._raw]!r})"
