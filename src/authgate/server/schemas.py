"""Request bodies of the admin API (unknown fields refused: no mass assignment)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KeyCreate(_Strict):
    name: str | None = Field(default=None, max_length=200, description="A label for the key.")
    scopes: list[str] = Field(default_factory=list, max_length=64)
    expires_in: str | int | None = Field(
        default=None, description="Lifetime: a duration such as 90s, 15m, 24h, 30d, or seconds."
    )
    type: str = Field(default="api-key", description="api-key or key-pair")
    user: str | None = Field(
        default=None, max_length=128, description="Owner (admins only; default: the caller)."
    )


class KeyRotate(_Strict):
    grace: str | int = Field(
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
    duration: str | int = Field(default="1h", description="15m to 12h (or seconds).")
    scopes: list[str] = Field(default_factory=list, max_length=64)
    user: str | None = Field(
        default=None, max_length=128, description="Owner (admins only; default: the caller)."
    )
