"""``/oauth/authorize`` and its pages: login (password + TOTP), consent, logout.

RFC 6749 §4.1.1–§4.1.2.1 and :mod:`authgate.oauth.authorize` (validation, redirects);
OIDC Core §3.1.2.1 (GET and POST), §3.1.2.3–§3.1.2.4 (authenticate, then consent),
§3.1.2.6 (``login_required``, ``consent_required``); RFC 9207 (``iss`` on every answer);
RFC 9700 §4.11 (no open redirector: errors about the client or redirect URI are shown,
never redirected; the login form returns only to authgate's own pages) and §4.12
(credential POSTs answer ``303 See Other``, never ``307``, so the browser does not re-POST
the password to the client); docs/oauth.md, The pages (``frame-ancestors 'none'``;
``state`` bound to the browser session). Browser state: :mod:`authgate.server.browser`.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from authgate.audit.events import AuditRecord
from authgate.errors import AuthError
from authgate.oauth.authorize import (
    AuthorizationError,
    AuthorizationRequest,
    InvalidAuthorizationTarget,
    append_query,
    parse_authorization_params,
    validate_authorization_request,
)
from authgate.oauth.clients import ClientRecord
from authgate.oauth.form import parse_form
from authgate.oauth.login import LoginSession
from authgate.oauth.registration import is_loopback
from authgate.runtime import Runtime
from authgate.scopes import MANAGE_SCOPE
from authgate.server.browser import BrowserCookies, RequestSealer
from authgate.server.deps import ClientIP, Rt
from authgate.server.pages import consent_page, error_page, login_page, message_page, page_headers

__all__ = [
    "AUTHORIZE_PATH",
    "CONSENT_PATH",
    "LOGIN_PATH",
    "LOGOUT_PATH",
    "Browser",
    "read_form",
    "router",
]

router = APIRouter(tags=["oauth"])

AUTHORIZE_PATH = "/oauth/authorize"
LOGIN_PATH = "/oauth/authorize/login"
CONSENT_PATH = "/oauth/authorize/consent"
LOGOUT_PATH = "/oauth/logout"
#: Where the login form may send the browser back to (nothing else: no open redirect).
RETURN_PATHS = frozenset({AUTHORIZE_PATH, "/oauth/device"})
_PENDING_TTL = 600.0
_MAX_QUERY = 8192
_LOGIN_FAILED = "The user name, password or code is incorrect."


class Browser:
    """One request's view of the browser: cookies, and the cookies to set."""

    def __init__(self, rt: Runtime, request: Request) -> None:
        self.rt = rt
        self.cookies = BrowserCookies.for_issuer(rt.oauth.issuer)
        self.sealer = RequestSealer(rt.oauth.digester)
        self.set_cookies: list[str] = []
        existing = request.cookies.get(self.cookies.browser)
        if BrowserCookies.valid_browser_id(existing):
            assert existing is not None  # noqa: S101 - checked above
            self.browser_id = existing
        else:
            self.browser_id = BrowserCookies.new_browser_id()
            self.set_cookies.append(self.cookies.header(self.cookies.browser, self.browser_id))
        self.session_token = request.cookies.get(self.cookies.session)

    async def session(self) -> LoginSession | None:
        return await self.rt.login_sessions.lookup(self.session_token)

    async def audit(
        self,
        event: str,
        session: LoginSession,
        ip: str | None,
        *,
        client_id: str | None = None,
        outcome: str = "success",
        **detail: Any,
    ) -> None:
        """Record what the signed-in user did (``client_id`` names the OAuth client)."""
        if client_id is not None:
            detail["client_id"] = client_id
        await self.rt.audit.emit(
            AuditRecord(
                event,
                outcome=outcome,
                actor_id=session.user_id,
                actor=session.username,
                credential_id=client_id,
                scheme="oauth2" if client_id is not None else "password",
                client_ip=ip,
                detail=detail,
            )
        )

    async def posted_form(self, request: Request) -> dict[str, str] | None:
        """The POSTed form when it parses and carries this browser's CSRF token, else None."""
        form = await read_form(request)
        if form is None or not self.sealer.check_csrf(
            request.cookies.get(self.cookies.browser), form.get("csrf")
        ):
            return None
        return form

    def consent(
        self,
        *,
        action: str,
        client: ClientRecord,
        scopes: tuple[str, ...],
        session: LoginSession,
        pending: dict[str, Any],
        ttl: float,
    ) -> Response:
        """The consent page for ``client``; ``pending`` comes back sealed to this session."""
        sealed = self.sealer.seal(pending, binding=session.id, ttl=ttl)
        return self.html(
            consent_page(
                action=action,
                client_name=client.name,
                client_id=client.client_id,
                scopes=scopes,
                username=session.username,
                hidden={"authorization": sealed},
            )
        )

    def html(self, body: str, status: int = 200) -> Response:
        return self._with_cookies(
            HTMLResponse(body, status_code=status, headers=page_headers(secure=self.cookies.secure))
        )

    def redirect(self, location: str, status: int) -> Response:
        return self._with_cookies(
            Response(
                status_code=status,
                headers={"location": location, **page_headers(secure=self.cookies.secure)},
            )
        )

    def _with_cookies(self, response: Response) -> Response:
        for cookie in self.set_cookies:
            response.headers.append("set-cookie", cookie)
        return response

    def login_form(
        self, return_to: str, *, error: str | None = None, username: str = "", status: int = 200
    ) -> Response:
        hidden = {"csrf": self.sealer.csrf(self.browser_id), "return_to": return_to}
        return self.html(
            login_page(action=LOGIN_PATH, hidden=hidden, error=error, username=username), status
        )


def _query_pairs(raw: bytes) -> list[tuple[str, str]] | None:
    if len(raw) > _MAX_QUERY:
        return None
    try:
        return parse_qsl(
            raw.decode("ascii"), keep_blank_values=True, errors="strict", max_num_fields=64
        )
    except (UnicodeDecodeError, ValueError):
        return None


async def _request_pairs(request: Request) -> list[tuple[str, str]] | None:
    if request.method == "GET":
        return _query_pairs(request.scope.get("query_string", b""))
    ctype = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded" or request.scope.get("query_string"):
        return None
    return _query_pairs(await request.body())


def _answer(rt: Runtime, redirect_uri: str, state: str | None, params: dict[str, str]) -> str:
    """The redirect to the client: ``params``, then ``state`` and ``iss`` (RFC 9207 §2)."""
    if state is not None:
        params["state"] = state
    params["iss"] = rt.oauth.issuer
    return append_query(redirect_uri, params)


def _error_location(rt: Runtime, exc: AuthorizationError) -> str:
    params = {"error": exc.error, "error_description": exc.description}
    return _answer(rt, exc.redirect_uri, exc.state, params)


async def _validated(
    rt: Runtime, params: dict[str, str], repeated: frozenset[str]
) -> tuple[AuthorizationRequest, ClientRecord]:
    client_id = params.get("client_id")
    client = await rt.oauth.clients.lookup(client_id) if client_id else None
    req = validate_authorization_request(params, repeated, client)
    assert client is not None  # noqa: S101 - validation refuses unknown clients
    return req, client


@router.get(AUTHORIZE_PATH, summary="Authorization endpoint (RFC 6749 §3.1)")
async def authorize(request: Request, rt: Rt, ip: ClientIP) -> Response:
    browser = Browser(rt, request)
    pairs = await _request_pairs(request)
    if pairs is None:
        return browser.html(error_page("The authorization request is malformed."), 400)
    params, repeated = parse_authorization_params(pairs)
    # A POSTed request is answered with 303, so the browser does not re-POST (RFC 9700 §4.12).
    status = 303 if request.method == "POST" else 302
    try:
        req, client = await _validated(rt, params, repeated)
    except InvalidAuthorizationTarget as exc:
        return browser.html(error_page(exc.description), 400)
    except AuthorizationError as exc:
        return browser.redirect(_error_location(rt, exc), status)
    return await _proceed(browser, req, client, ip, status=status)


@router.post(AUTHORIZE_PATH, summary="Authorization endpoint, POSTed form (OIDC Core §3.1.2.1)")
async def authorize_post(request: Request, rt: Rt, ip: ClientIP) -> Response:
    return await authorize(request, rt, ip)


async def _proceed(
    browser: Browser,
    req: AuthorizationRequest,
    client: ClientRecord,
    ip: str | None,
    *,
    status: int,
) -> Response:
    """Log in if needed, ask for consent if needed, else answer with a code."""
    rt = browser.rt
    session = await browser.session()
    stale = (
        session is not None
        and req.max_age is not None
        and time.time() - session.auth_time > req.max_age
    )
    if session is None or "login" in req.prompt or stale:
        if "none" in req.prompt:
            raise_to = AuthorizationError(
                "login_required", "The user is not signed in.", req.redirect_uri, req.state
            )
            return browser.redirect(_error_location(rt, raise_to), status)
        return browser.login_form(AUTHORIZE_PATH + "?" + urlencode(req.as_params(after_login=True)))
    if (
        "consent" in req.prompt
        or _always_ask(client, req)
        or not await rt.oauth.consents.covers(session.user_id, client.client_id, req.scopes)
    ):
        if "none" in req.prompt:
            needed = AuthorizationError(
                "consent_required",
                "The user has not approved this client.",
                req.redirect_uri,
                req.state,
            )
            return browser.redirect(_error_location(rt, needed), status)
        return browser.consent(
            action=CONSENT_PATH,
            client=client,
            scopes=req.scopes,
            session=session,
            pending=req.as_params(),
            ttl=_PENDING_TTL,
        )
    return await _issue_code(browser, req, session, ip, status=status)


def _always_ask(client: ClientRecord, req: AuthorizationRequest) -> bool:
    """RFC 8252 §8.6, RFC 6749 §10.2: a public client answering on a loopback port cannot
    be told from any local program that asks with its ``client_id``, so its requests are
    never approved silently from a remembered consent. Nor is ``authgate:manage`` (the
    app could manage the user's credentials): the user approves it every time."""
    if MANAGE_SCOPE in req.scopes:
        return True
    return client.public and is_loopback(urlsplit(req.redirect_uri).hostname or "")


async def _issue_code(
    browser: Browser,
    req: AuthorizationRequest,
    session: LoginSession,
    ip: str | None,
    *,
    status: int,
) -> Response:
    rt = browser.rt
    code = await rt.oauth.codes.issue(
        req, user_id=session.user_id, auth_time=session.auth_time, amr=session.amr
    )
    await browser.audit(
        "oauth.code_issued", session, ip, client_id=req.client_id, scopes=list(req.scopes)
    )
    return browser.redirect(_answer(rt, req.redirect_uri, req.state, {"code": code}), status)


async def read_form(request: Request) -> dict[str, str] | None:
    """A strictly parsed form body (:func:`parse_form`), or None when malformed."""
    try:
        return parse_form(
            await request.body(),
            request.headers.get("content-type"),
            request.scope.get("query_string", b""),
        )
    except AuthError:
        return None


def _return_to(value: str | None) -> str | None:
    """``value`` when it is one of authgate's own pages, re-encoded; else None."""
    if value is None or len(value) > _MAX_QUERY:
        return None
    path, _, query = value.partition("?")
    if path not in RETURN_PATHS:
        return None
    pairs = _query_pairs(query.encode("ascii", "replace"))
    if pairs is None:
        return None
    return path + ("?" + urlencode(pairs) if pairs else "")


@router.post(LOGIN_PATH, summary="Sign in (password, then TOTP when enrolled)")
async def login(request: Request, rt: Rt, ip: ClientIP) -> Response:
    browser = Browser(rt, request)
    form = await browser.posted_form(request)
    if form is None:
        return browser.html(
            error_page("The form expired. Go back to the application and start again."), 400
        )
    return_to = _return_to(form.get("return_to"))
    if return_to is None:
        return browser.html(error_page("The sign-in request is malformed."), 400)
    username = form.get("username", "")
    result = await rt.password_login.check(
        username, form.get("password", ""), form.get("code"), client_ip=ip
    )
    if result is None:
        # Not the typed name itself: people type passwords into the user-name field.
        typed = rt.oauth.digester.digest(username[:128], purpose="audit-username")[:16]
        await rt.audit.emit(
            AuditRecord(
                "login.failed",
                outcome="failure",
                scheme="password",
                client_ip=ip,
                detail={"username_digest": typed},
            )
        )
        return browser.login_form(
            return_to, error=_LOGIN_FAILED, username=username[:128], status=401
        )
    await rt.login_sessions.revoke(browser.session_token)  # a new session at every login
    token = await rt.login_sessions.create(result.user_id, auth_time=time.time(), amr=result.amr)
    browser.set_cookies.append(browser.cookies.header(browser.cookies.session, token))
    await rt.audit.emit(
        AuditRecord(
            "login.succeeded",
            actor_id=result.user_id,
            actor=result.username,
            scheme="password",
            client_ip=ip,
            detail={"amr": list(result.amr)},
        )
    )
    return browser.redirect(return_to, 303)


@router.post(CONSENT_PATH, summary="Approve or deny a client's authorization request")
async def consent(request: Request, rt: Rt, ip: ClientIP) -> Response:
    browser = Browser(rt, request)
    form = await read_form(request)
    session = await browser.session()
    if form is None or session is None:
        return browser.html(
            error_page("Your session ended. Go back to the application and start again."), 400
        )
    sealed: dict[str, Any] | None = browser.sealer.unseal(
        form.get("authorization"), binding=session.id
    )
    if sealed is None or not all(isinstance(v, str) for v in sealed.values()):
        # Expired, tampered with, or started in another browser session.
        return browser.html(
            error_page("This authorization request is not yours or has expired."), 400
        )
    try:
        req, client = await _validated(rt, sealed, frozenset())
    except InvalidAuthorizationTarget as exc:
        return browser.html(error_page(exc.description), 400)
    except AuthorizationError as exc:
        return browser.redirect(_error_location(rt, exc), 303)
    decision = form.get("decision")
    if decision == "deny":
        await browser.audit("oauth.consent_denied", session, ip, client_id=client.client_id)
        denied = AuthorizationError(
            "access_denied", "The user denied the request.", req.redirect_uri, req.state
        )
        return browser.redirect(_error_location(rt, denied), 303)
    if decision != "allow":
        return browser.html(error_page("Choose Allow or Deny."), 400)
    await rt.oauth.consents.remember(session.user_id, client.client_id, req.scopes)
    await browser.audit(
        "oauth.consent_granted", session, ip, client_id=client.client_id, scopes=list(req.scopes)
    )
    return await _issue_code(browser, req, session, ip, status=303)


@router.post(LOGOUT_PATH, summary="Sign out of the authorization server")
async def logout(request: Request, rt: Rt, ip: ClientIP) -> Response:
    browser = Browser(rt, request)
    form = await browser.posted_form(request)
    if form is None:
        return browser.html(error_page("The form expired."), 400)
    session = await browser.session()
    await rt.login_sessions.revoke(browser.session_token)
    browser.set_cookies.append(browser.cookies.header(browser.cookies.session, "", max_age=0))
    if session is not None:
        await browser.audit("logout", session, ip)
    return browser.html(message_page("Signed out", "You are signed out."))
