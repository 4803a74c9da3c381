"""Revocations survive a restart of ``authgate serve``.

Issue 8 item 8. Three access tokens are revoked three ways — ``POST /oauth/revoke`` of
a client's token, ``keys revoke`` of the key pair a token was bought with, ``users
disable`` of the user a token names — and refused; the server is stopped and started
again on the same home; all three stay refused (the deny-lists are rebuilt from the
database at start-up), while a token nobody revoked still works.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests._live_server import LiveServer, bearer, wait_until


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    with LiveServer.running(tmp_path / "home") as server:
        yield server


def test_revoked_tokens_stay_refused_after_a_restart(live: LiveServer) -> None:
    client = live.cli("clients", "create", "svc", "--grant", "client_credentials")
    by_client = live.client_token(client)
    live.cli("users", "create", "kp")
    pair = live.cli("keys", "create", "--user", "kp", "--type", "key-pair")
    by_pair = bearer(live.pair_token(pair))
    live.cli("users", "create", "gone")
    gone_pair = live.cli("keys", "create", "--user", "gone", "--type", "key-pair")
    by_user = bearer(live.pair_token(gone_pair))
    live.cli("users", "create", "kept")
    kept = bearer(
        live.pair_token(live.cli("keys", "create", "--user", "kept", "--type", "key-pair"))
    )
    revoked = [bearer(by_client), by_pair, by_user]
    for headers in [*revoked, kept]:
        assert live.status("/v1/whoami", headers) == 200

    r = live.http.post(
        "/oauth/revoke",
        data={"token": by_client},
        auth=(client["client_id"], client["client_secret"]),
    )
    assert r.status_code == 200
    live.cli("keys", "revoke", pair["id"])
    live.cli("users", "disable", "gone")
    for headers in revoked:
        wait_until(lambda h=headers: live.status("/v1/whoami", h) == 401, timeout=1.0)  # type: ignore[misc]

    live.restart()

    assert [live.status("/v1/whoami", h) for h in revoked] == [401, 401, 401]
    assert live.status("/v1/whoami", kept) == 200
    introspected = live.http.post(
        "/oauth/introspect",
        data={"token": by_client},
        auth=(client["client_id"], client["client_secret"]),
    )
    assert introspected.json() == {"active": False}
