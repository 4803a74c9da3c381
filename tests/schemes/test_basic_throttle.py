"""Failed Basic logins are throttled per account across IPs, without locking the user out."""

from __future__ import annotations

import base64

import pytest

from authgate.errors import InvalidCredentials
from authgate.identity import Identity
from authgate.mfa.throttle import LoginThrottle, ThrottlePolicy
from authgate.mfa.throttle_store import MemoryThrottleStore
from authgate.schemes.base import Headers, KeyPairCredential, RequestView
from authgate.schemes.basic import BasicAuthenticator

ALICE = Identity(subject="alice", principal_id="u1", scheme="basic")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Passwords:
    def __init__(self) -> None:
        self.checks = 0

    async def resolve_api_key(self, key: str) -> Identity | None:
        return None

    async def resolve_key_pair(self, key: str) -> KeyPairCredential | None:
        return None

    async def resolve_password(self, username: str, password: str) -> Identity | None:
        self.checks += 1
        return ALICE if (username, password) == ("alice", "right password") else None


def view(password: str, ip: str) -> RequestView:
    token = base64.b64encode(f"alice:{password}".encode()).decode()
    return RequestView(
        "GET", "http", "h", "/", "", Headers([("authorization", f"Basic {token}")]), ip
    )


@pytest.fixture
def world() -> tuple[BasicAuthenticator, Passwords, Clock]:
    clock = Clock()
    policy = ThrottlePolicy(max_failures=20, known_reserve=5, free_failures=3, max_delay=30)
    throttle = LoginThrottle(MemoryThrottleStore(clock), clock, policy)
    passwords = Passwords()
    return BasicAuthenticator(passwords, throttle), passwords, clock


async def test_failures_counted_per_account_across_ips(
    world: tuple[BasicAuthenticator, Passwords, Clock],
) -> None:
    auth, passwords, clock = world
    for i in range(40):  # an attacker spreading guesses over many addresses
        clock.now += 1
        with pytest.raises(InvalidCredentials):
            await auth.authenticate(view(f"guess {i}", f"198.51.100.{i}"))
    assert passwords.checks < 40  # throttled guesses never reach the password check


async def test_throttled_attempt_is_the_uniform_401(
    world: tuple[BasicAuthenticator, Passwords, Clock],
) -> None:
    auth, _, _ = world
    errors = []
    for i in range(6):
        with pytest.raises(InvalidCredentials) as info:
            await auth.authenticate(view(f"guess {i}", "203.0.113.1"))
        errors.append((info.value.status, info.value.description, info.value.challenges))
    assert len(set(errors)) == 1


async def test_user_from_a_known_address_is_not_locked_out(
    world: tuple[BasicAuthenticator, Passwords, Clock],
) -> None:
    auth, _, clock = world
    assert await auth.authenticate(view("right password", "192.0.2.7")) == ALICE  # known now
    for i in range(60):
        clock.now += 0.5
        with pytest.raises(InvalidCredentials):
            await auth.authenticate(view(f"guess {i}", f"198.51.100.{i}"))
    clock.now += 31  # the longest per-lane delay
    assert await auth.authenticate(view("right password", "192.0.2.7")) == ALICE
