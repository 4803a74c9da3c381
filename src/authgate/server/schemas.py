"""Request bodies of the admin API (unknown fields refused: no mass assignment).

Numbers are bounded in the schema, so nonsense (``1e20``, ``10**400``, ``-1``, ``true``)
is a 400 that names the field, never an overflow further in.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema

from authgate.durations import MAX_DURATION_SECONDS, parse_duration

#: The largest id a database row can have (a signed 64-bit integer).
MAX_ROW_ID = 2**63 - 1

_DURATION_HINT = (
    f"use a duration such as 90s, 15m, 24h, 30d, or whole seconds from 0 to {MAX_DURATION_SECONDS}"
)


def _duration(value: object) -> str | int:
    # type() rather than isinstance(): JSON true is no duration, 1e20 no whole second
    if type(value) is int and 0 <= value <= MAX_DURATION_SECONDS:
        return value
    if type(value) is str:
        try:
            parse_duration(value)
        except ValueError:
            pass
        else:
            return value
    raise ValueError(_DURATION_HINT)


#: A duration as JSON: ``"24h"``-style text, or whole seconds (no floats, no booleans),
#: at most :data:`~authgate.durations.MAX_DURATION_SECONDS`; anything else is one 400.
Duration = Annotated[
    str | int,
    PlainValidator(_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "maxLength": 16, "pattern": "^(0|[0-9]{1,9}[smhd])$"},
                {"type": "integer", "minimum": 0, "maximum": MAX_DURATION_SECONDS},
            ]
        }
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KeyCreate(_Strict):
    name: str | None = Field(default=None, max_length=200, description="A label for the key.")
    scopes: list[str] = Field(default_factory=list, max_length=64)
    expires_in: Duration | None = Field(
        default=None, description="Lifetime: a duration such as 90s, 15m, 24h, 30d, or seconds."
    )
    type: str = Field(default="api-key", description="api-key or key-pair")
    user: str | None = Field(
        default=None, max_length=128, description="Owner (admins only; default: the caller)."
    )


class KeyRotate(_Strict):
    grace: Duration = Field(
        default="0", description="How long the old key keeps working: 0, 90s, 15m, 24h, 30d."
    )


class UserCreate(_Strict):
    name: str = Field(max_length=128)
    role: str = "member"
    password: str | None = Field(default=None, max_length=1024)
    scopes: list[str] = Field(default_factory=list, max_length=64)


class PasswordSet(_Strict):
    password: str = Field(max_length=1024)
    current_password: str | None = Field(
        default=None, max_length=1024, description="Required when changing your own password."
    )


class SessionCreate(_Strict):
    duration: Duration = Field(default="1h", description="15m to 12h (or seconds).")
    scopes: list[str] = Field(default_factory=list, max_length=64)
    user: str | None = Field(
        default=None, max_length=128, description="Owner (admins only; default: the caller)."
    )
