"""`authgate serve` with a policy file: the policy applies after authentication."""

from __future__ import annotations

from pathlib import Path

import httpx2
from tests.conftest import make_settings
from typer.testing import CliRunner

from authgate.cli import app as cli_app
from authgate.runtime import LOCAL_ADMIN, Runtime
from authgate.server import AuthgateServer

POLICY = """
version = 1
default = "deny"

[[routes]]
path = "/v1/whoami"
methods = ["GET"]

[[routes]]
path = "/v1/keys/**"
roles = ["admin"]

[[routes]]
path = "/v1/keys"
scopes = ["keys:manage"]
"""


async def test_policy_enforced_by_the_server(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    settings = make_settings(tmp_path, policy_file=policy)
    rt = await Runtime.open(settings, batched_audit=False)
    try:
        await rt.users.create(LOCAL_ADMIN, "m", scopes=["keys:manage", "read"])
        await rt.users.create(LOCAL_ADMIN, "root", role="admin")
        # a key without scopes takes the member's; this one is narrowed to read
        member = {"X-API-Key": (await rt.keys.create(LOCAL_ADMIN, user="m", scopes=["read"])).key}
        scoped = {
            "X-API-Key": (await rt.keys.create(LOCAL_ADMIN, user="m", scopes=["keys:manage"])).key
        }
        admin = {"X-API-Key": (await rt.keys.create(LOCAL_ADMIN, user="root")).key}
        transport = httpx2.ASGITransport(app=AuthgateServer(settings, rt))
        async with httpx2.AsyncClient(transport=transport, base_url="http://t") as c:
            assert (await c.get("/healthz")).status_code == 200
            assert (await c.get("/v1/whoami")).status_code == 401
            assert (await c.get("/v1/whoami", headers=member)).status_code == 200
            r = await c.get("/v1/keys", headers=member)
            assert r.status_code == 403 and r.json()["error"] == "insufficient_scope"
            assert (await c.get("/v1/keys", headers=scoped)).status_code == 200
            some_id = (await c.get("/v1/keys", headers=scoped)).json()["keys"][0]["id"]
            assert (await c.get(f"/v1/keys/{some_id}", headers=scoped)).status_code == 403
            assert (await c.get(f"/v1/keys/{some_id}", headers=admin)).status_code == 200
            # not in the policy: default deny, even for an admin
            assert (await c.get("/v1/users", headers=admin)).status_code == 403
            assert (await c.get("/v1/../v1/users", headers=admin)).status_code == 403
    finally:
        await rt.close()


def test_policy_commands_are_part_of_the_cli(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    result = CliRunner().invoke(cli_app, ["policy", "check", str(policy), "--json"])
    assert result.exit_code == 0, result.output
    policy.write_text(POLICY + '\n[[routes]]\npath = "/x"\nbogus = 1\n')
    result = CliRunner().invoke(cli_app, ["policy", "check", str(policy)])
    assert result.exit_code == 1 and "bogus" in result.output
