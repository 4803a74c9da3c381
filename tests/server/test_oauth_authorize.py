"""/oauth/authorize with login and consent pages, the authorization code grant with PKCE,
ID tokens and /oauth/userinfo, through the real server on SQLite and PostgreSQL.

SECURITY.md "OAuth 2.0 server": redirect URI matching, errors without redirects, code
single use / expiry / client binding, PKCE, refused response types, page headers, 303s
and the binding of a pending request to the browser session.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx2
import jwt
import pytest
from sqlalchemy import update
from tests._oauth_support import (
    PASSWORD,
    BrowserFlow,
    OAuthWorld,
    basic,
    bearer,
    browser,
    form_of,
    live_server,
    make_user,
    pkce_pair,
)

from authgate.oauth.pkce import challenge_of
from authgate.store.models_authz import AuthorizationCodeRecord

REDIRECT = "https://app.example/cb"


async def public_client(oauth: OAuthWorld, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("grants", ["authorization_code", "refresh_token"])
    kwargs.setdefault("redirect_uris", [REDIRECT])
    kwargs.setdefault("public", True)
    return await oauth.register(**kwargs)


def auth_params(client_id: str, challenge: str, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid profile read",
        "state": "st-123",
        "nonce": "n-456",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    } | extra


async def redeem(
    oauth: OAuthWorld, client_id: str, code: str, verifier: str, **extra: str
) -> httpx2.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": client_id,
        "code_verifier": verifier,
    } | extra
    return await oauth.token({k: v for k, v in form.items() if v})


def location_params(r: httpx2.Response) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(r.headers["location"]).query))


@pytest.fixture
async def alice(oauth: OAuthWorld) -> str:
    return await make_user(oauth)


@pytest.fixture
async def flow(oauth: OAuthWorld) -> Any:
    b = browser(oauth)
    async with b.client:
        yield b


# -- the whole flow -----------------------------------------------------------------------


async def test_code_flow_with_login_consent_pkce_id_token_and_userinfo(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    c = await public_client(oauth)
    verifier, challenge = pkce_pair()
    page = await flow.authorize(auth_params(c["client_id"], challenge))
    assert page.status_code == 200 and "Sign in" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    logged_in = await flow.login(page)
    assert logged_in.status_code == 303  # never 307: the password is not re-posted
    consent = await flow.follow(logged_in)
    assert consent.status_code == 200 and "Allow" in consent.text and "read" in consent.text
    assert "frame-ancestors 'none'" in consent.headers["content-security-policy"]
    answer = await flow.submit(consent, decision="allow")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(REDIRECT + "?")
    got = location_params(answer)
    assert got["state"] == "st-123" and got["iss"] == oauth.issuer  # RFC 9207
    r = await redeem(oauth, c["client_id"], got["code"], verifier)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scope"] == "openid profile read" and body["refresh_token"]
    access = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert access["sub"] == alice and access["client_id"] == c["client_id"]
    assert "roles" not in access  # the client gets the consented scopes, not the user's role
    header = jwt.get_unverified_header(body["id_token"])
    assert header["alg"] == "RS256" and header["typ"] == "JWT"
    id_claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert id_claims["aud"] == c["client_id"] and id_claims["nonce"] == "n-456"
    assert id_claims["sub"] == alice and id_claims["preferred_username"] == "alice"
    assert id_claims["amr"] == ["pwd"] and id_claims["auth_time"] <= time.time()
    assert id_claims["at_hash"] == challenge_of_at(body["access_token"])
    who = await oauth.client.get("/v1/whoami", headers=bearer(body["access_token"]))
    assert who.status_code == 200 and who.json()["subject"] == "alice"
    info = await oauth.client.get("/oauth/userinfo", headers=bearer(body["access_token"]))
    assert info.status_code == 200 and info.json() == {"sub": alice, "preferred_username": "alice"}
    # the ID token is no access token (RFC 9068: typ must be at+jwt)
    assert (
        await oauth.client.get("/v1/whoami", headers=bearer(body["id_token"]))
    ).status_code == 401
    # refresh keeps the OIDC scopes and rotates
    again = await oauth.token(
        {
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": c["client_id"],
        }
    )
    assert again.status_code == 200, again.text
    assert again.json()["scope"] == "openid profile read"


def challenge_of_at(access_token: str) -> str:
    import base64
    import hashlib

    half = hashlib.sha256(access_token.encode()).digest()[:16]
    return base64.urlsafe_b64encode(half).rstrip(b"=").decode()


async def test_consent_is_remembered_per_client_and_asked_again_for_new_scopes(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    c = await public_client(oauth, scopes=["read", "write"])
    _, challenge = pkce_pair()
    got = await flow.code_for(auth_params(c["client_id"], challenge, scope="read"))
    assert "code" in got
    # same scopes again: straight back with a code, no page
    r = await flow.authorize(auth_params(c["client_id"], challenge, scope="read"))
    assert r.status_code == 302 and "code" in location_params(r)
    # a new scope: the consent page again
    r = await flow.authorize(auth_params(c["client_id"], challenge, scope="read write"))
    assert r.status_code == 200 and "write" in r.text and "decision" in r.text
    # prompt=consent always asks
    r = await flow.authorize(auth_params(c["client_id"], challenge, scope="read", prompt="consent"))
    assert r.status_code == 200 and "decision" in r.text
    # another client: asked again
    other = await public_client(oauth, name="other")
    r = await flow.authorize(auth_params(other["client_id"], challenge, scope="read"))
    assert r.status_code == 200 and "decision" in r.text


async def test_prompt_none_answers_login_required_and_consent_required(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    c = await public_client(oauth)
    _, challenge = pkce_pair()
    r = await flow.authorize(auth_params(c["client_id"], challenge, prompt="none"))
    assert r.status_code == 302
    assert location_params(r)["error"] == "login_required"
    page = await flow.authorize(auth_params(c["client_id"], challenge))
    await flow.login(page)
    r = await flow.authorize(auth_params(c["client_id"], challenge, prompt="none"))
    assert location_params(r)["error"] == "consent_required"
    assert location_params(r)["iss"] == oauth.issuer


async def test_deny_redirects_access_denied(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    c = await public_client(oauth)
    _, challenge = pkce_pair()
    page = await flow.authorize(auth_params(c["client_id"], challenge))
    consent = await flow.follow(await flow.login(page))
    r = await flow.submit(consent, decision="deny")
    assert r.status_code == 303
    got = location_params(r)
    assert got["error"] == "access_denied" and got["state"] == "st-123"


async def test_confidential_client_with_secret_and_without_openid(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    c = await oauth.register(
        grants=["authorization_code"], redirect_uris=[REDIRECT], scopes=["read"]
    )
    verifier, challenge = pkce_pair()
    got = await flow.code_for(auth_params(c["client_id"], challenge, scope="read"))
    form = {
        "grant_type": "authorization_code",
        "code": got["code"],
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    # a confidential client must authenticate (refused before the code is looked at)
    r = await oauth.token(form | {"client_id": c["client_id"]})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = await oauth.token(form, headers=basic(c["client_id"], c["client_secret"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scope"] == "read" and "id_token" not in body
    assert "refresh_token" not in body  # not registered for refresh_token


# -- SECURITY.md: redirect URIs -----------------------------------------------------------


@pytest.mark.parametrize(
    "presented",
    [
        REDIRECT + "/",
        REDIRECT + "#frag",
        "https://user@app.example/cb",
        "http://app.example/cb",
        "https://app.example/cb?x=1",
        "https://app.example:8443/cb",
        "https://evil.example/cb",
        "HTTPS://app.example/cb",
    ],
)
async def test_security_redirect_uri_not_exactly_registered_gives_an_error_page(
    oauth: OAuthWorld, flow: BrowserFlow, presented: str
) -> None:
    c = await public_client(oauth)
    _, challenge = pkce_pair()
    r = await flow.authorize(auth_params(c["client_id"], challenge, redirect_uri=presented))
    assert r.status_code == 400 and "location" not in r.headers
    assert "Request refused" in r.text
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


async def test_security_invalid_response_type_or_scope_with_unregistered_redirect_is_400(
    oauth: OAuthWorld, flow: BrowserFlow
) -> None:
    c = await public_client(oauth)
    _, challenge = pkce_pair()
    for extra in ({"response_type": "token"}, {"scope": "nope"}, {"client_id": "agc_unknown"}):
        params = (
            auth_params(c["client_id"], challenge, redirect_uri="https://evil.example/") | extra
        )
        r = await flow.authorize(params)
        assert r.status_code == 400 and "location" not in r.headers


async def test_security_response_type_token_is_refused(
    oauth: OAuthWorld, flow: BrowserFlow
) -> None:
    c = await public_client(oauth)
    _, challenge = pkce_pair()
    for rt in ("token", "id_token", "code token", "code id_token"):
        r = await flow.authorize(auth_params(c["client_id"], challenge, response_type=rt))
        assert r.status_code == 302
        got = location_params(r)
        assert got["error"] == "unsupported_response_type" and got["state"] == "st-123"
        assert got["iss"] == oauth.issuer and "code" not in got
        assert "#" not in r.headers["location"]


async def test_security_pathological_redirect_uri_is_fast(
    oauth: OAuthWorld, flow: BrowserFlow
) -> None:
    c = await public_client(oauth)
    _, challenge = pkce_pair()
    for uri in ("http://[::::::::::::::::::::::::::]/path", "http://" + "[" * 5000 + "/x"):
        started = time.perf_counter()
        r = await flow.authorize(auth_params(c["client_id"], challenge, redirect_uri=uri))
        elapsed = time.perf_counter() - started
        assert r.status_code == 400 and "location" not in r.headers
        assert elapsed < 0.5  # CVE-2022-36087 asks < 0.1 s for the parsing; this is the request


async def test_loopback_redirect_uri_may_change_port_for_native_apps(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    c = await public_client(oauth, redirect_uris=["http://127.0.0.1/cb"])
    _, challenge = pkce_pair()
    got = await flow.code_for(
        auth_params(c["client_id"], challenge, redirect_uri="http://127.0.0.1:53123/cb")
    )
    assert "code" in got
    for bad in ("http://127.0.0.1:53123/other", "http://localhost:53123/cb"):
        r = await flow.authorize(auth_params(c["client_id"], challenge, redirect_uri=bad))
        assert r.status_code == 400


async def test_unknown_client_and_repeated_client_id_get_an_error_page(
    oauth: OAuthWorld, flow: BrowserFlow
) -> None:
    c = await public_client(oauth)
    r = await flow.client.get(
        f"/oauth/authorize?client_id={c['client_id']}&client_id={c['client_id']}"
        f"&response_type=code&redirect_uri={REDIRECT}"
    )
    assert r.status_code == 400 and "location" not in r.headers


async def test_client_not_registered_for_the_code_grant_is_unauthorized(
    oauth: OAuthWorld, flow: BrowserFlow
) -> None:
    c = await oauth.register(grants=["client_credentials"], redirect_uris=[REDIRECT])
    _, challenge = pkce_pair()
    r = await flow.authorize(auth_params(c["client_id"], challenge))
    assert location_params(r)["error"] == "unauthorized_client"


# -- SECURITY.md: PKCE --------------------------------------------------------------------


def test_rfc7636_appendix_b_example() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert challenge_of(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


@pytest.mark.parametrize(
    "extra",
    [
        {"code_challenge": "", "code_challenge_method": ""},  # missing
        {"code_challenge_method": "plain"},
        {"code_challenge_method": ""},  # omitted means plain (RFC 7636 §4.3)
        {"code_challenge": "short"},
        {"code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"},  # not a digest
    ],
)
async def test_security_pkce_bad_challenges_are_refused(
    oauth: OAuthWorld, flow: BrowserFlow, extra: dict[str, str]
) -> None:
    c = await public_client(oauth)
    _, challenge = pkce_pair()
    params = {k: v for k, v in (auth_params(c["client_id"], challenge) | extra).items() if v}
    r = await flow.authorize(params)
    assert r.status_code == 302
    assert location_params(r)["error"] == "invalid_request"


async def test_security_pkce_duplicated_parameter_is_refused(
    oauth: OAuthWorld, flow: BrowserFlow
) -> None:
    c = await public_client(oauth)
    _, challenge = pkce_pair()
    _, other = pkce_pair()
    query = httpx2.QueryParams(auth_params(c["client_id"], challenge)).add("code_challenge", other)
    r = await flow.client.get("/oauth/authorize", params=query)
    assert r.status_code == 302
    assert location_params(r)["error"] == "invalid_request"


@pytest.mark.parametrize(
    "verifier",
    [
        None,  # missing
        "a" * 42,  # too short
        "a" * 129,  # too long
        "a" * 42 + "!",  # outside [A-Za-z0-9-._~]
        "wrong-but-well-formed-verifier-wrong-but-well-formed",
    ],
)
async def test_security_pkce_bad_verifiers_are_refused(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str, verifier: str | None
) -> None:
    c = await public_client(oauth)
    good, challenge = pkce_pair()
    got = await flow.code_for(auth_params(c["client_id"], challenge))
    r = await redeem(oauth, c["client_id"], got["code"], verifier or "")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # the failed attempt spent the code: the right verifier no longer helps
    r = await redeem(oauth, c["client_id"], got["code"], good)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_security_pkce_verifier_without_challenge_is_a_downgrade() -> None:
    from authgate.oauth.errors import InvalidGrant
    from authgate.oauth.pkce import check_verifier

    with pytest.raises(InvalidGrant):
        check_verifier("a" * 43, None)
    check_verifier(None, None)  # neither: nothing to check (never stored by authgate)


async def test_security_duplicated_token_parameter_is_refused(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    c = await public_client(oauth)
    verifier, challenge = pkce_pair()
    got = await flow.code_for(auth_params(c["client_id"], challenge))
    body = (
        f"grant_type=authorization_code&code={got['code']}&redirect_uri={REDIRECT}"
        f"&client_id={c['client_id']}&code_verifier={verifier}&code_verifier={verifier}"
    )
    r = await oauth.client.post(
        "/oauth/token",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


# -- SECURITY.md: authorization codes -----------------------------------------------------


async def test_security_second_redemption_fails_and_revokes_the_first_tokens(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    c = await public_client(oauth)
    verifier, challenge = pkce_pair()
    got = await flow.code_for(auth_params(c["client_id"], challenge))
    first = await redeem(oauth, c["client_id"], got["code"], verifier)
    assert first.status_code == 200
    tokens = first.json()
    assert (
        await oauth.client.get("/v1/whoami", headers=bearer(tokens["access_token"]))
    ).status_code == 200
    second = await redeem(oauth, c["client_id"], got["code"], verifier)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    assert (
        await oauth.client.get("/v1/whoami", headers=bearer(tokens["access_token"]))
    ).status_code == 401
    refreshed = await oauth.token(
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": c["client_id"],
        }
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


async def test_security_concurrent_redemptions_give_one_set_of_tokens_then_revoke_it(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    c = await public_client(oauth)
    verifier, challenge = pkce_pair()
    got = await flow.code_for(auth_params(c["client_id"], challenge))
    results = await asyncio.gather(
        *(redeem(oauth, c["client_id"], got["code"], verifier) for _ in range(4))
    )
    won = [r for r in results if r.status_code == 200]
    assert len(won) <= 1
    for r in won:
        access = r.json()["access_token"]
        assert (await oauth.client.get("/v1/whoami", headers=bearer(access))).status_code == 401


async def test_security_code_older_than_ten_minutes_is_rejected(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    c = await public_client(oauth)
    verifier, challenge = pkce_pair()
    got = await flow.code_for(auth_params(c["client_id"], challenge))
    async with oauth.rt.db.session() as s, s.begin():
        rows = await s.execute(
            update(AuthorizationCodeRecord).values(
                created_at=AuthorizationCodeRecord.created_at,
                expires_at=_ago(1),
            )
        )
        assert getattr(rows, "rowcount", 0) == 1
    r = await redeem(oauth, c["client_id"], got["code"], verifier)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def _ago(seconds: float) -> Any:
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) - timedelta(seconds=seconds)


async def test_codes_live_ten_minutes() -> None:
    from authgate.oauth.codes import AuthorizationCodes

    with pytest.raises(ValueError, match="10 minutes"):
        AuthorizationCodes(None, None, None, lifetime=601)  # type: ignore[arg-type]


async def test_security_code_of_another_client_or_redirect_is_rejected(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    c = await public_client(oauth)
    other = await public_client(oauth, name="other", redirect_uris=[REDIRECT, REDIRECT + "2"])
    verifier, challenge = pkce_pair()
    got = await flow.code_for(auth_params(c["client_id"], challenge))
    r = await redeem(oauth, other["client_id"], got["code"], verifier)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    got = await flow.code_for(auth_params(c["client_id"], challenge))
    r = await redeem(oauth, c["client_id"], got["code"], verifier, redirect_uri=REDIRECT + "2")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


async def test_codes_are_stored_as_digests(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    from sqlalchemy import select

    c = await public_client(oauth)
    _, challenge = pkce_pair()
    got = await flow.code_for(auth_params(c["client_id"], challenge))
    async with oauth.rt.db.session() as s:
        row = await s.scalar(select(AuthorizationCodeRecord))
    assert row is not None and got["code"] not in (row.digest, row.id)
    assert got["code"].startswith("aga_")


# -- SECURITY.md: login and consent pages -------------------------------------------------


async def test_security_state_from_another_browser_session_is_rejected(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    await make_user(oauth, "mallory")
    c = await public_client(oauth)
    _, challenge = pkce_pair()
    # mallory starts a request and gets to the consent page in her browser
    mallory = browser(oauth)
    async with mallory.client:
        page = await mallory.authorize(auth_params(c["client_id"], challenge, state="evil"))
        consent = await mallory.follow(await mallory.login(page, "mallory"))
        _, hidden = form_of(consent.text)
    # alice, signed in in her own browser, is made to post mallory's pending request
    page = await flow.authorize(auth_params(c["client_id"], challenge))
    await flow.login(page)
    r = await flow.client.post("/oauth/authorize/consent", data={**hidden, "decision": "allow"})
    assert r.status_code == 400 and "location" not in r.headers
    # a tampered request is refused the same way
    mine = await flow.authorize(auth_params(c["client_id"], challenge))
    _, own = form_of(mine.text)
    own["authorization"] = own["authorization"][:-2] + "AA"
    r = await flow.client.post("/oauth/authorize/consent", data={**own, "decision": "allow"})
    assert r.status_code == 400


async def test_security_login_form_needs_its_csrf_token(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    c = await public_client(oauth)
    _, challenge = pkce_pair()
    page = await flow.authorize(auth_params(c["client_id"], challenge))
    _, hidden = form_of(page.text)
    fields = {"username": "alice", "password": PASSWORD, "return_to": hidden["return_to"]}
    r = await flow.client.post("/oauth/authorize/login", data=fields)
    assert r.status_code == 400
    # another browser's token does not do either
    other = browser(oauth)
    async with other.client:
        r = await other.client.post("/oauth/authorize/login", data=hidden | fields)
        assert r.status_code == 400


async def test_security_login_never_redirects_off_site(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    c = await public_client(oauth)
    _, challenge = pkce_pair()
    page = await flow.authorize(auth_params(c["client_id"], challenge))
    for target in ("https://evil.example/", "//evil.example/x", "/v1/keys", "/oauth/authorize/.."):
        r = await flow.submit(page, username="alice", password=PASSWORD, return_to=target)
        assert r.status_code == 400 and "location" not in r.headers


async def test_security_failed_logins_are_generic(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    c = await public_client(oauth)
    _, challenge = pkce_pair()
    page = await flow.authorize(auth_params(c["client_id"], challenge))
    answers = []
    for user, password in (("alice", "wrong password!"), ("nobody", PASSWORD)):
        r = await flow.login(page, user, password)
        answers.append((r.status_code, "incorrect" in r.text))
    assert answers == [(401, True), (401, True)]


async def test_login_with_totp_when_enrolled(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    import pyotp

    from authgate.identity import Identity

    me = Identity(subject="alice", principal_id=alice, scheme="basic", roles=("member",))
    started = await oauth.rt.mfa.begin_enrolment(me)
    secret = started.as_json()["secret"]
    totp = pyotp.TOTP(secret)
    recovery = await oauth.rt.mfa.confirm_enrolment(me, None, totp.at(time.time() - 30))
    c = await public_client(oauth)
    verifier, challenge = pkce_pair()
    page = await flow.authorize(auth_params(c["client_id"], challenge))
    no_code = await flow.login(page)
    wrong = await flow.login(page, code="000000")
    assert no_code.status_code == wrong.status_code == 401
    assert "incorrect" in no_code.text and "incorrect" in wrong.text
    ok = await flow.login(page, code=totp.now())
    assert ok.status_code == 303
    consent = await flow.follow(ok)
    got = location_params(await flow.submit(consent, decision="allow"))
    body = (await redeem(oauth, c["client_id"], got["code"], verifier)).json()
    claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    # a recovery code works once in the code field (amr: no OTP device was used)
    page = await flow.authorize(auth_params(c["client_id"], challenge, prompt="login"))
    assert (await flow.login(page, code=recovery[0])).status_code == 303
    session = await oauth.rt.login_sessions.lookup(flow.client.cookies["authgate-session"])
    assert session is not None and session.amr == ("pwd", "mfa")
    page = await flow.authorize(auth_params(c["client_id"], challenge, prompt="login"))
    assert (await flow.login(page, code=recovery[0])).status_code == 401


@pytest.mark.parametrize("settings", [{"token_issuer": "https://authgate.test"}], indirect=True)
async def test_security_cookies_are_host_prefixed_secure_and_rotated_at_login(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    assert oauth.issuer == "https://authgate.test"
    c = await public_client(oauth)
    _, challenge = pkce_pair()
    page = await flow.authorize(auth_params(c["client_id"], challenge))
    set_cookie = page.headers["set-cookie"]
    assert set_cookie.startswith("__Host-authgate-browser=")
    for attribute in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in set_cookie
    assert "Domain" not in set_cookie
    assert "max-age=31536000" in page.headers["strict-transport-security"]
    r = await flow.login(page)
    session_cookie = r.headers["set-cookie"]
    assert session_cookie.startswith("__Host-authgate-session=") and "Secure" in session_cookie
    first = flow.client.cookies["__Host-authgate-session"]
    # signing in again (prompt=login) gives a new session; the old one is revoked
    page = await flow.authorize(auth_params(c["client_id"], challenge, prompt="login"))
    await flow.login(page)
    second = flow.client.cookies["__Host-authgate-session"]
    assert second != first
    assert await oauth.rt.login_sessions.lookup(first) is None
    assert await oauth.rt.login_sessions.lookup(second) is not None
    # logout revokes it
    _, hidden = form_of(page.text)
    r = await flow.client.post("/oauth/logout", data={"csrf": hidden["csrf"]})
    assert r.status_code == 200
    assert await oauth.rt.login_sessions.lookup(second) is None
    r = await flow.authorize(auth_params(c["client_id"], challenge, prompt="none"))
    assert location_params(r)["error"] == "login_required"


async def test_disabled_user_loses_sessions_and_codes(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    from authgate.runtime import LOCAL_ADMIN

    c = await public_client(oauth)
    verifier, challenge = pkce_pair()
    got = await flow.code_for(auth_params(c["client_id"], challenge))
    await oauth.rt.users.disable(LOCAL_ADMIN, "alice")
    r = await redeem(oauth, c["client_id"], got["code"], verifier)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = await flow.authorize(auth_params(c["client_id"], challenge, prompt="none"))
    assert location_params(r)["error"] == "login_required"


async def test_userinfo_needs_an_openid_token(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    c = await public_client(oauth)
    verifier, challenge = pkce_pair()
    got = await flow.code_for(auth_params(c["client_id"], challenge, scope="read"))
    body = (await redeem(oauth, c["client_id"], got["code"], verifier)).json()
    assert "id_token" not in body
    r = await oauth.client.get("/oauth/userinfo", headers=bearer(body["access_token"]))
    assert r.status_code == 403 and 'error="insufficient_scope"' in r.headers["www-authenticate"]
    r = await oauth.client.get("/oauth/userinfo")
    assert r.status_code == 401


# -- real clients -------------------------------------------------------------------------


async def test_authlib_authorization_code_with_pkce_and_refresh(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    from authlib.common.security import generate_token
    from authlib.integrations.httpx_client import AsyncOAuth2Client

    c = await public_client(oauth)
    verifier = generate_token(64)
    transport = httpx2.ASGITransport(app=oauth.server)
    async with AsyncOAuth2Client(
        c["client_id"],
        scope="openid profile read",
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
        transport=transport,
        base_url=oauth.issuer,
    ) as client:
        url, state = client.create_authorization_url(
            oauth.issuer + "/oauth/authorize", code_verifier=verifier, nonce="authlib-nonce"
        )
        page = await flow.client.get(url)
        consent = await flow.follow(await flow.login(page))
        answer = await flow.submit(consent, decision="allow")
        assert location_params(answer)["state"] == state
        token = await client.fetch_token(
            oauth.issuer + "/oauth/token",
            authorization_response=answer.headers["location"],
            code_verifier=verifier,
        )
        assert token["scope"] == "openid profile read" and token["id_token"]
        claims = jwt.decode(token["id_token"], options={"verify_signature": False})
        assert claims["nonce"] == "authlib-nonce"
        who = await client.get("/v1/whoami")
        assert who.status_code == 200 and who.json()["subject"] == "alice"
        info = await client.get("/oauth/userinfo")
        assert info.json()["sub"] == alice
        refreshed = await client.refresh_token(oauth.issuer + "/oauth/token")
        assert refreshed["refresh_token"] != token["refresh_token"]
        assert (await client.get("/v1/whoami")).status_code == 200


async def test_requests_oauthlib_code_flow_and_pyjwt_jwks_on_a_real_server(
    oauth: OAuthWorld, alice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import requests
    from requests_oauthlib import OAuth2Session
    from tests._oauth_support import PASSWORD as password

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on 127.0.0.1 only
    c = await public_client(oauth)
    async with live_server(oauth.server) as base:

        def run() -> tuple[dict[str, Any], dict[str, Any]]:
            session = OAuth2Session(
                c["client_id"], redirect_uri=REDIRECT, scope=["openid", "read"], pkce="S256"
            )
            url, state = session.authorization_url(base + "/oauth/authorize", nonce="ro-nonce")
            user_agent = requests.Session()  # the user's browser: its own cookies
            page = user_agent.get(url, allow_redirects=False)
            action, hidden = form_of(page.text)
            r = user_agent.post(
                base + action,
                data=hidden | {"username": "alice", "password": password},
                allow_redirects=False,
            )
            assert r.status_code == 303
            consent = user_agent.get(base + r.headers["location"], allow_redirects=False)
            action, hidden = form_of(consent.text)
            r = user_agent.post(
                base + action, data=hidden | {"decision": "allow"}, allow_redirects=False
            )
            assert r.status_code == 303
            token: dict[str, Any] = session.fetch_token(
                base + "/oauth/token",
                authorization_response=r.headers["location"],
                include_client_id=True,
            )
            assert session.get(base + "/v1/whoami").json()["subject"] == "alice"
            refreshed: dict[str, Any] = session.refresh_token(
                base + "/oauth/token", client_id=c["client_id"]
            )
            jwks = jwt.PyJWKClient(base + "/.well-known/jwks.json")
            id_claims = jwt.decode(
                token["id_token"],
                jwks.get_signing_key_from_jwt(token["id_token"]),
                algorithms=["RS256"],
                audience=c["client_id"],
                issuer=oauth.issuer,
            )
            access_claims = jwt.decode(
                refreshed["access_token"],
                jwks.get_signing_key_from_jwt(refreshed["access_token"]),
                algorithms=["EdDSA", "ES256", "RS256"],
                audience=oauth.issuer,
                issuer=oauth.issuer,
            )
            assert state
            return id_claims, access_claims

        id_claims, access_claims = await asyncio.to_thread(run)
        assert id_claims["nonce"] == "ro-nonce" and id_claims["sub"] == alice
        assert access_claims["sub"] == alice and access_claims["scope"] == "openid read"


# -- review findings: each one a regression test -------------------------------------------


async def audit_events(oauth: OAuthWorld, event: str) -> list[Any]:
    from sqlalchemy import select

    from authgate.store.models import AuditEvent

    async with oauth.rt.db.session() as s:
        return list((await s.scalars(select(AuditEvent).where(AuditEvent.event == event))).all())


async def test_security_a_member_delegates_only_the_scopes_held_now(
    oauth: OAuthWorld, flow: BrowserFlow
) -> None:
    from authgate.runtime import LOCAL_ADMIN

    bob = await make_user(oauth, "bob", scopes=[])
    c = await public_client(oauth, scopes=["read", "write"])
    verifier, challenge = pkce_pair()
    got = await flow.code_for(auth_params(c["client_id"], challenge), user="bob")
    body = (await redeem(oauth, c["client_id"], got["code"], verifier)).json()
    assert body["scope"] == "openid profile"  # bob holds neither read nor write
    assert bob
    # carol holds read and write; after losing write, refreshes no longer carry it
    await make_user(oauth, "carol")
    other = browser(oauth)
    async with other.client:
        got = await other.code_for(
            auth_params(c["client_id"], challenge, scope="read write"), user="carol"
        )
    tokens = (await redeem(oauth, c["client_id"], got["code"], verifier)).json()
    assert tokens["scope"] == "read write"
    async with oauth.rt.db.session() as s, s.begin():
        from authgate.store.models import User

        await s.execute(update(User).where(User.name == "carol").values(scopes=["read"]))
    r = await oauth.token(
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": c["client_id"],
        }
    )
    assert r.status_code == 200 and r.json()["scope"] == "read"
    assert LOCAL_ADMIN


async def test_security_password_change_ends_browser_sessions(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    from authgate.runtime import LOCAL_ADMIN

    c = await public_client(oauth)
    _, challenge = pkce_pair()
    await flow.code_for(auth_params(c["client_id"], challenge))
    await oauth.rt.users.set_password(LOCAL_ADMIN, "alice", "a brand new passphrase 42")
    r = await flow.authorize(auth_params(c["client_id"], challenge, prompt="none"))
    assert location_params(r)["error"] == "login_required"


@pytest.mark.parametrize(
    "presented",
    [
        "http://127.0.0.1:5000/c%09b",
        "http://127.0.0.1:5000/c\tb",
        "http://127.0.0.1:5000/cb\n",
        "http://127.0.0.1:5000/cb?" + "x" * 2100,
        "http://127.0.0.1:5000/cb\u00e9",
    ],
)
async def test_security_loopback_redirect_uri_must_be_plain_and_short(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str, presented: str
) -> None:
    c = await public_client(oauth, redirect_uris=["http://127.0.0.1/cb"])
    _, challenge = pkce_pair()
    r = await flow.authorize(auth_params(c["client_id"], challenge, redirect_uri=presented))
    assert r.status_code == 400 and "location" not in r.headers


async def test_security_a_client_never_approved_asks_even_for_no_scopes(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    c = await oauth.register(
        grants=["authorization_code"], redirect_uris=[REDIRECT], scopes=[], name="quiet"
    )
    _, challenge = pkce_pair()
    params = auth_params(c["client_id"], challenge)
    del params["scope"]
    page = await flow.authorize(params)
    consent = await flow.follow(await flow.login(page))
    assert consent.status_code == 200 and "decision" in consent.text
    assert (await flow.submit(consent, decision="allow")).status_code == 303


async def test_max_age_zero_logs_in_once_then_continues(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    c = await public_client(oauth)
    _, challenge = pkce_pair()
    page = await flow.authorize(auth_params(c["client_id"], challenge, max_age="0"))
    after = await flow.follow(await flow.login(page))
    assert after.status_code == 200 and "decision" in after.text  # consent, not login again


async def test_security_public_loopback_clients_always_ask(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    c = await public_client(oauth, redirect_uris=["http://127.0.0.1/cb"])
    _, challenge = pkce_pair()
    params = auth_params(c["client_id"], challenge, redirect_uri="http://127.0.0.1:4000/cb")
    assert "code" in await flow.code_for(params)
    again = await flow.authorize(params | {"redirect_uri": "http://127.0.0.1:4001/cb"})
    assert again.status_code == 200 and "decision" in again.text
    silent = await flow.authorize(params | {"prompt": "none"})
    assert location_params(silent)["error"] == "consent_required"


async def test_security_a_leaked_code_replayed_by_another_client_revokes_nothing(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    c = await public_client(oauth)
    thief = await public_client(oauth, name="thief")
    verifier, challenge = pkce_pair()
    got = await flow.code_for(auth_params(c["client_id"], challenge))
    tokens = (await redeem(oauth, c["client_id"], got["code"], verifier)).json()
    r = await redeem(oauth, thief["client_id"], got["code"], verifier)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert (
        await oauth.client.get("/v1/whoami", headers=bearer(tokens["access_token"]))
    ).status_code == 200
    assert not await audit_events(oauth, "oauth.code_replayed")
    # the client itself replaying it is the signal: revoked, and audited
    await redeem(oauth, c["client_id"], got["code"], verifier)
    assert (
        await oauth.client.get("/v1/whoami", headers=bearer(tokens["access_token"]))
    ).status_code == 401
    assert len(await audit_events(oauth, "oauth.code_replayed")) == 1


async def test_post_authorization_requests_are_answered_with_303(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    c = await public_client(oauth)
    _, challenge = pkce_pair()
    await flow.code_for(auth_params(c["client_id"], challenge))
    r = await flow.client.post("/oauth/authorize", data=auth_params(c["client_id"], challenge))
    assert r.status_code == 303 and "code" in location_params(r)
    r = await flow.client.post(
        "/oauth/authorize", data=auth_params(c["client_id"], challenge, response_type="token")
    )
    assert r.status_code == 303 and location_params(r)["error"] == "unsupported_response_type"


async def test_security_totp_code_replayed_at_the_login_form_is_refused(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    import pyotp

    from authgate.identity import Identity

    me = Identity(subject="alice", principal_id=alice, scheme="basic", roles=("member",))
    secret = (await oauth.rt.mfa.begin_enrolment(me)).as_json()["secret"]
    totp = pyotp.TOTP(secret)
    await oauth.rt.mfa.confirm_enrolment(me, None, totp.at(time.time() - 30))
    c = await public_client(oauth)
    _, challenge = pkce_pair()
    page = await flow.authorize(auth_params(c["client_id"], challenge))
    code = totp.now()
    assert (await flow.login(page, code=code)).status_code == 303
    page = await flow.authorize(auth_params(c["client_id"], challenge, prompt="login"))
    assert (await flow.login(page, code=code)).status_code == 401  # same code, same step
    old = totp.at(time.time() - 60)  # step T-2
    assert (await flow.login(page, code=old)).status_code == 401


async def test_security_login_form_failures_are_throttled_and_audited_without_the_name(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    c = await public_client(oauth)
    _, challenge = pkce_pair()
    page = await flow.authorize(auth_params(c["client_id"], challenge))
    typed = "my secret passphrase typed as a user name"
    for _ in range(4):
        assert (await flow.login(page, typed, "x" * 12)).status_code == 401
    for _ in range(4):  # three free failures, then a growing delay
        assert (await flow.login(page, "alice", "wrong password!!")).status_code == 401
    # past the free failures the account's lane waits: even the right password is refused
    # now, with the same answer, and without costing a hash
    r = await flow.login(page)
    assert r.status_code == 401 and "incorrect" in r.text
    failed = await audit_events(oauth, "login.failed")
    assert len(failed) == 9
    assert all(typed not in repr((e.actor, e.detail)) for e in failed)
    assert all(e.client_ip == "203.0.113.9" for e in failed)


async def test_token_grants_and_logins_are_audited(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    c = await public_client(oauth)
    verifier, challenge = pkce_pair()
    got = await flow.code_for(auth_params(c["client_id"], challenge))
    body = (await redeem(oauth, c["client_id"], got["code"], verifier)).json()
    for event in ("login.succeeded", "oauth.consent_granted", "oauth.code_issued"):
        (record,) = await audit_events(oauth, event)
        assert record.actor_id == alice and record.client_ip == "203.0.113.9"
    (issued,) = await audit_events(oauth, "oauth.token_issued")
    assert issued.detail["client_id"] == c["client_id"] and issued.actor_id == alice
    every = repr([(e.actor, e.detail) for e in await audit_events(oauth, "oauth.token_issued")])
    assert body["access_token"] not in every and got["code"] not in every


async def test_expired_codes_and_sessions_are_purged(
    oauth: OAuthWorld, flow: BrowserFlow, alice: str
) -> None:
    from authgate.store.models_authz import LoginSessionRecord

    c = await public_client(oauth)
    _, challenge = pkce_pair()
    await flow.code_for(auth_params(c["client_id"], challenge))
    assert await oauth.rt.oauth.purge_expired() == 0
    async with oauth.rt.db.session() as s, s.begin():
        await s.execute(update(AuthorizationCodeRecord).values(expires_at=_ago(2 * 86400)))
        await s.execute(update(LoginSessionRecord).values(expires_at=_ago(2 * 86400)))
    assert await oauth.rt.oauth.purge_expired() == 1
    assert await oauth.rt.login_sessions.purge_expired() == 1


@pytest.mark.parametrize("settings", [{"token_issuer": "https://authgate.test/"}], indirect=True)
async def test_issuer_is_spelled_one_way_everywhere(oauth: OAuthWorld) -> None:
    assert oauth.rt.tokens.config.issuer == "https://authgate.test"
    meta = (await oauth.client.get("/.well-known/openid-configuration")).json()
    assert meta["issuer"] == oauth.rt.tokens.config.issuer == oauth.rt.oauth.issuer
