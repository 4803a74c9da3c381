"""A TOTP throttle lock-out of the running services is audited once, without codes."""

from __future__ import annotations

import time

from tests._audit_support import assert_no_secret, audit_rows
from tests.conftest import Accounts

from authgate.identity import Identity
from authgate.mfa import totp
from authgate.runtime import Runtime

USER_IP = "192.0.2.10"


async def test_totp_throttle_lockout_is_audited_once(runtime: Runtime, accounts: Accounts) -> None:
    view = await accounts.user("gina")
    user = Identity(subject=view.name, principal_id=view.id, scheme="apikey", roles=("member",))
    started = await runtime.mfa.begin_enrolment(user, client_ip=USER_IP)
    secret = totp.b32_decode(started.secret.reveal())
    code = totp.hotp(secret, totp.time_step(time.time()))
    await runtime.mfa.confirm_enrolment(user, None, code, client_ip=USER_IP)
    wrong = [f"{(int(code) + i) % 1_000_000:06d}" for i in range(500_000, 500_006)]
    for guess in wrong:  # 3 free failures, then the lane waits: refused
        assert not await runtime.mfa.verify(view.id, guess, client_ip=USER_IP)
    [row] = await audit_rows(runtime, "auth.lockout")
    assert row["detail"]["throttle"] == "mfa" and row["detail"]["account"] == view.id
    assert row["detail"]["limit"] == "delay" and row["client_ip"] == USER_IP
    assert_no_secret(await audit_rows(runtime), started.secret.reveal(), *wrong)
