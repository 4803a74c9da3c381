"""A registry of named entries, built at start-up and then frozen.

The scheme factories (:mod:`authgate.scheme_factories`) and the OAuth grant handlers
(:mod:`authgate.oauth.grants`) are each one instance: adding a scheme or a grant is one
``register`` call, no ``if``/``elif`` to edit. Entries keep their registration order (the
scheme chain's default order, the metadata's ``grant_types_supported``). A name is
registered once: a second registration is refused rather than silently replacing the
first, and a frozen registry refuses any (never a class-level mutable dict).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Generic, Self, TypeVar

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Names → entries, in registration order.

    Args:
        kind: what the entries are, for error messages (``"scheme"``, ``"grant"``).
        entries: ``(name, entry)`` pairs to register at once.
    """

    def __init__(self, kind: str, entries: Iterable[tuple[str, T]] = ()) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._frozen = False
        for name, entry in entries:
            self.register(name, entry)

    def register(self, name: str, entry: T) -> None:
        """Add ``entry`` under ``name``.

        Raises:
            ValueError: ``name`` is already registered.
            RuntimeError: the registry is frozen.
        """
        if self._frozen:
            raise RuntimeError(f"the {self.kind} registry is frozen: cannot register {name!r}")
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry

    def freeze(self) -> Self:
        """Refuse any further registration; returns the registry."""
        self._frozen = True
        return self

    @property
    def frozen(self) -> bool:
        return self._frozen

    def get(self, name: str) -> T | None:
        """The entry registered under ``name``, or None."""
        return self._entries.get(name)

    def __getitem__(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(self._entries)
            raise LookupError(f"unknown {self.kind} {name!r}: use one of {known}") from None

    def names(self) -> tuple[str, ...]:
        """The registered names, in registration order."""
        return tuple(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        state = "frozen" if self._frozen else "open"
        return f"<Registry of {self.kind}s ({state}): {', '.join(self._entries)}>"
