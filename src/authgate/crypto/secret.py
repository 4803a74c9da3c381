"""A secret value with a redacted ``repr``, so it never lands in a log by accident."""

from __future__ import annotations

__all__ = ["Secret"]


class Secret:
    """Wraps a secret; ``str()``/``repr()`` show ``Secret('**********')``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself: call only where it is needed."""
        return self._value

    def reveal_bytes(self) -> bytes:
        return self._value.encode("utf-8")

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        import hmac

        return isinstance(other, Secret) and hmac.compare_digest(
            self.reveal_bytes(), other.reveal_bytes()
        )

    def __hash__(self) -> int:
        return hash(self._value)
