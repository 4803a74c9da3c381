"""Password hashing (argon2id) and the password policy (ASVS 5.0 V6, Appendix C).

Hashes are self-describing PHC strings, so parameters can be raised later and old hashes
upgraded on the next successful login (:meth:`PasswordHasher.needs_rehash`).
Policy: at least 8 characters, at most 1024 (a cap so a 1 MB "password" never reaches
the hash), not in a common-password list, no composition rules. No truncation: argon2
hashes the whole UTF-8 string (unlike bcrypt's 72 bytes).
"""

from __future__ import annotations

import secrets
from functools import cache
from importlib import resources

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "PasswordHasher",
    "PasswordPolicyError",
    "generate_password",
    "validate_password",
]

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024

# ASVS 5.0 / OWASP minimums for argon2id: m ≥ 19 MiB, t ≥ 2, p = 1.
MIN_MEMORY_KIB = 19 * 1024
MIN_TIME_COST = 2


class PasswordPolicyError(ValueError):
    """The password does not meet the policy; the message says why."""


@cache
def _common_passwords() -> frozenset[str]:
    text = resources.files("authgate.crypto").joinpath("data/common-passwords.txt").read_text()
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def validate_password(password: str) -> None:
    """Raise :class:`PasswordPolicyError` unless ``password`` meets the policy."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"password must be at most {MAX_PASSWORD_LENGTH} characters")
    if password.lower() in _common_passwords():
        raise PasswordPolicyError("password is too common; choose another")


def generate_password() -> str:
    """A random password (≈ 130 bits) for first admins and new users."""
    return secrets.token_urlsafe(22)


class PasswordHasher:
    """argon2id hashing with parameters at or above the ASVS minimums."""

    def __init__(self, *, time_cost: int = 3, memory_kib: int = 32 * 1024) -> None:
        if time_cost < MIN_TIME_COST or memory_kib < MIN_MEMORY_KIB:
            raise ValueError("argon2id parameters below ASVS minimums (t ≥ 2, m ≥ 19 MiB)")
        self._ph = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=1,
            type=argon2.Type.ID,
        )
        # A real hash to verify against when the user does not exist, so unknown users
        # cost the same time as wrong passwords.
        self._dummy = self._ph.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._ph.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; always pays one argon2 verification."""
        try:
            return self._ph.verify(stored_hash or self._dummy, password) and bool(stored_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._ph.check_needs_rehash(stored_hash)
