"""``/oauth/device``: the user side of the device grant (RFC 8628 §3.3, §5).

The user signs in (the same login form as ``/oauth/authorize``), types the code the
device shows (or arrives with it in ``verification_uri_complete``), sees which client
asks for which scopes, and allows or denies (§5.4: "remote phishing" — the user must
confirm explicitly, so a code arriving in the URL is never approved without a click).
Wrong codes are throttled per user and per IP (§5.1: user codes are short, 20^8), with
the login throttle's rules. The confirmation carries the user code sealed to the login
session, so it cannot be replayed from another browser.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from authgate.oauth.device import normalize_user_code
from authgate.server.deps import ClientIP, Rt
from authgate.server.pages import device_page, error_page, message_page
from authgate.server.routes_authorize import Browser, read_form

__all__ = ["router"]

router = APIRouter(tags=["oauth"])

DEVICE_PATH = "/oauth/device"
CONFIRM_PATH = "/oauth/device/confirm"
_TTL = 300.0
_WRONG_CODE = "That code is not valid. Check the code on your device and try again."


@router.get(DEVICE_PATH, summary="Device verification page (RFC 8628 §3.3)")
async def device(request: Request, rt: Rt) -> Response:
    browser = Browser(rt, request)
    code = request.query_params.get("user_code", "")[:32]
    session = await browser.session()
    if session is None:
        back = DEVICE_PATH + ("?" + urlencode({"user_code": code}) if code else "")
        return browser.login_form(back)
    return _code_form(browser, code)


def _code_form(browser: Browser, code: str = "", error: str | None = None) -> Response:
    hidden = {"csrf": browser.sealer.csrf(browser.browser_id)}
    page = device_page(action=DEVICE_PATH, hidden=hidden, error=error, code=_safe(code))
    return browser.html(page, 401 if error else 200)


def _safe(code: str) -> str:
    return "".join(c for c in code if c.isalnum() or c == "-")


@router.post(DEVICE_PATH, summary="Look up a device's user code")
async def device_code(request: Request, rt: Rt, ip: ClientIP) -> Response:
    browser = Browser(rt, request)
    form = await browser.posted_form(request)
    session = await browser.session()
    if form is None or session is None:
        return browser.html(error_page("The form expired. Open the page again."), 400)
    throttle = rt.password_login.throttle
    account = "device:" + session.user_id
    if not (await throttle.acquire(account, ip)).allowed:
        return _code_form(browser, error=_WRONG_CODE)
    typed = form.get("user_code", "")
    pending = await rt.oauth.device.find_pending(typed) if normalize_user_code(typed) else None
    if pending is None:
        await browser.audit("oauth.device_code_failed", session, ip, outcome="failure")
        return _code_form(browser, error=_WRONG_CODE)
    # No refund on success: an attacker could otherwise reset the count between guesses
    # with user codes of their own; every lookup counts, right or wrong.
    client = await rt.oauth.clients.lookup(pending.client_id)
    if client is None:
        return _code_form(browser, error=_WRONG_CODE)
    return browser.consent(
        action=CONFIRM_PATH,
        client=client,
        scopes=pending.scopes,
        session=session,
        pending={"user_code": typed, "client_id": client.client_id},
        ttl=_TTL,
    )


@router.post(CONFIRM_PATH, summary="Allow or deny a device")
async def confirm(request: Request, rt: Rt, ip: ClientIP) -> Response:
    browser = Browser(rt, request)
    form = await read_form(request)
    session = await browser.session()
    if form is None or session is None:
        return browser.html(error_page("Your session ended. Open the page again."), 400)
    sealed = browser.sealer.unseal(form.get("authorization"), binding=session.id)
    code = sealed.get("user_code") if sealed else None
    client_id = sealed.get("client_id") if sealed else None
    if not isinstance(code, str) or not isinstance(client_id, str):
        return browser.html(error_page("This request is not yours or has expired."), 400)
    decision = form.get("decision")
    if decision == "allow":
        done = await rt.oauth.device.approve(
            code, user_id=session.user_id, auth_time=session.auth_time
        )
        event, text = "oauth.device_approved", "Your device is connected. You can close this page."
    elif decision == "deny":
        done = await rt.oauth.device.deny(code)
        event, text = "oauth.device_denied", "The device was not connected."
    else:
        return browser.html(error_page("Choose Allow or Deny."), 400)
    if not done:
        return browser.html(error_page("The code expired or was already used."), 400)
    await browser.audit(event, session, ip, client_id=client_id)
    return browser.html(message_page("Device", text))
