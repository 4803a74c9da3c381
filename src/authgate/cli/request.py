"""``authgate request METHOD URL --auth TYPE ...``: one signed HTTP request, from a terminal.

Signs with the :mod:`authgate.client` classes. Any option value may be ``{{NAME}}``, read
from the environment, so secrets stay out of shell history. ``--profile NAME`` fills the
options left unset from a profile (``authgate profiles``) and adds its variables; the
environment wins over a profile variable of the same name. ``-v`` prints the request as
sent to stderr, secrets redacted; ``--json`` prints ``{"status", "headers", "body"}``.
"""

from __future__ import annotations

import json
import os
import sys
from collections import ChainMap
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, cast
from urllib.parse import urlsplit

import httpx2
import typer

from authgate.cli.common import JsonOpt
from authgate.cli.output import console, emit, err_console, fail
from authgate.client import (
    APIKeyAuth,
    AuthgateKeyPair,
    AWSSigV4Auth,
    BasicAuth,
    BearerAuth,
    HMACAuth,
    NoAuth,
    OAuth1Auth,
    OAuth2ClientCredentials,
    TokenError,
)
from authgate.client.profiles import ProfileError, load_profiles, profiles_path
from authgate.client.variables import MissingVariable, substitute

__all__ = ["AUTH_TYPES", "OPTION_NAMES", "redact", "request"]

AUTH_TYPES = ("none", "apikey", "basic", "bearer", "oauth2", "aws", "hmac", "oauth1", "authgate")
#: The auth options (``--header-name`` is ``header_name``, ``--in`` is ``location``).
OPTION_NAMES = (
    "key", "secret", "user", "password", "token", "location", "header_name", "region",
    "service", "session_token", "token_url", "client_id", "client_secret", "scope",
    "hmac_scheme", "signature_method",
)  # fmt: skip
#: Headers and query parameters whose values are never printed.
_SECRET_HEADERS = frozenset(
    {
        "authorization",
        "x-api-key",
        "x-amz-security-token",
        "signature",
        "cookie",
        "proxy-authorization",
    }
)
_SECRET_PARAMS = frozenset(
    {"api_key", "x-amz-signature", "x-amz-security-token", "oauth_signature", "access_token"}
)
_REDACTED = "<redacted>"


class _BadOption(Exception):
    """A missing or invalid option: one line for the user."""


def _expand(value: str | None, values: Mapping[str, str] = os.environ) -> str | None:
    """``{{NAME}}`` → ``NAME``'s value: the environment's, else the profile's variable."""
    if value is None:
        return None
    try:
        return substitute(value, values, where="in the environment")
    except MissingVariable as exc:
        raise _BadOption(str(exc)) from exc


def _with_profile(
    name: str, auth: str | None, options: dict[str, Any]
) -> tuple[str, ChainMap[str, str]]:
    """The auth type and options with the profile's filling what the command line left unset,
    and where ``{{NAME}}`` is looked up: the environment first, then the profile."""
    try:
        profiles = load_profiles(profiles_path())
    except ProfileError as exc:
        raise _BadOption(str(exc)) from exc
    if name not in profiles:
        raise _BadOption(f"no profile named {name!r} (authgate profiles list)")
    profile = profiles[name]
    for key, value in profile.options.items():
        if options.get(key) is None:
            options[key] = value
    return auth or profile.auth or "none", ChainMap(dict(os.environ), profile.variables)


def _need(value: str | None, option: str, auth: str) -> str:
    if not value:
        raise _BadOption(f"--auth {auth} needs {option}")
    return value


def _auth(auth: str, url: str, o: dict[str, Any]) -> httpx2.Auth:
    if (o["location"] or "header") not in ("header", "query"):
        raise _BadOption("--in must be header or query")
    where = cast(Literal["header", "query"], o["location"] or "header")
    if auth == "none":
        return NoAuth()
    if auth == "basic":
        return BasicAuth(_need(o["user"], "--user", auth), _need(o["password"], "--password", auth))
    if auth == "bearer":
        return BearerAuth(_need(o["token"], "--token", auth))
    if auth == "apikey":
        return APIKeyAuth(_need(o["key"], "--key", auth), name=o["header_name"], location=where)
    key_secret = (_need(o["key"], "--key", auth), _need(o["secret"], "--secret", auth))
    if auth == "aws":
        return AWSSigV4Auth(
            *key_secret,
            region=o["region"] or "us-east-1",
            service=o["service"] or "execute-api",
            session_token=o["session_token"],
            location=where,
        )
    if auth == "hmac":
        if (o["hmac_scheme"] or "rfc9421") not in ("rfc9421", "simple"):
            raise _BadOption("--hmac-scheme must be rfc9421 or simple")
        scheme = cast(Literal["rfc9421", "simple"], o["hmac_scheme"] or "rfc9421")
        return HMACAuth(*key_secret, scheme=scheme)
    if auth == "oauth1":
        return OAuth1Auth(
            *key_secret, signature_method=o["signature_method"] or "HMAC-SHA1", placement=where
        )
    if auth == "authgate":
        parts = urlsplit(url)
        return AuthgateKeyPair(f"{parts.scheme}://{parts.netloc}", *key_secret)
    raise AssertionError(auth)  # pragma: no cover - checked by the caller


def _oauth2(o: dict[str, Any]) -> httpx2.Auth:
    if o["token"]:
        return BearerAuth(o["token"])
    return OAuth2ClientCredentials(
        _need(o["token_url"], "--token-url (or --token)", "oauth2"),
        _need(o["client_id"], "--client-id", "oauth2"),
        _need(o["client_secret"], "--client-secret", "oauth2"),
        scope=o["scope"],
    )


def _headers(values: list[str]) -> list[tuple[str, str]]:
    out = []
    for raw in values:
        name, sep, value = raw.partition(":")
        if not sep or not name.strip():
            raise _BadOption(f"-H expects 'Name: value', got {raw!r}")
        out.append((name.strip(), value.strip()))
    return out


def _body(data: str | None) -> bytes | None:
    if data is None:
        return None
    if data.startswith("@"):
        path = Path(data[1:])
        try:
            return path.read_bytes()
        except OSError as exc:
            raise _BadOption(f"cannot read {path}: {exc.strerror}") from exc
    return data.encode()


def redact(text: str, secrets_: list[str]) -> str:
    for secret in sorted(secrets_, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, _REDACTED)
    return text


def _show(request: httpx2.Request, secrets_: list[str]) -> None:
    """Print the request as sent, to stderr, with every credential redacted."""
    url = request.url
    query = "&".join(
        f"{k}={_REDACTED if k.lower() in _SECRET_PARAMS else v}"
        for k, v in httpx2.QueryParams(url.query.decode()).multi_items()
    )
    target = url.raw_path.decode().partition("?")[0] + (f"?{query}" if query else "")
    lines = [f"> {request.method} {url.scheme}://{url.netloc.decode()}{target}"]
    for name, value in request.headers.multi_items():
        if name.lower() in _SECRET_HEADERS:
            word = value.split(" ", 1)[0] if " " in value else ""
            value = f"{word} {_REDACTED}".strip()
        lines.append(f"> {name}: {value}")
    err_console.print(redact("\n".join(lines), secrets_), markup=False, soft_wrap=True)


def _parsed_body(response: httpx2.Response) -> Any:
    if "json" in response.headers.get("content-type", ""):
        try:
            return response.json()
        except ValueError:
            pass
    return response.text


def request(
    method: Annotated[str, typer.Argument(metavar="METHOD", help="GET, POST, ...")],
    url: Annotated[str, typer.Argument(metavar="URL", help="The full URL; may hold {{NAME}}.")],
    auth: Annotated[
        str | None,
        typer.Option("--auth", metavar="TYPE", help="One of: " + ", ".join(AUTH_TYPES) + "."),
    ] = None,
    key: Annotated[str | None, typer.Option(help="API key, key pair key, access key id.")] = None,
    secret: Annotated[str | None, typer.Option(help="Key pair secret, secret access key.")] = None,
    user: Annotated[str | None, typer.Option(help="Basic user name.")] = None,
    password: Annotated[str | None, typer.Option(help="Basic password.")] = None,
    token: Annotated[str | None, typer.Option(help="Bearer (or OAuth 2.0) access token.")] = None,
    location: Annotated[
        str | None, typer.Option("--in", metavar="WHERE", help="header (default) or query.")
    ] = None,
    header_name: Annotated[str | None, typer.Option(help="The API key's header name.")] = None,
    region: Annotated[str | None, typer.Option(help="SigV4 region [us-east-1].")] = None,
    service: Annotated[str | None, typer.Option(help="SigV4 service [execute-api].")] = None,
    session_token: Annotated[str | None, typer.Option(help="SigV4 session token.")] = None,
    token_url: Annotated[str | None, typer.Option(help="OAuth 2.0 token endpoint.")] = None,
    client_id: Annotated[str | None, typer.Option(help="OAuth 2.0 client id.")] = None,
    client_secret: Annotated[str | None, typer.Option(help="OAuth 2.0 client secret.")] = None,
    scope: Annotated[str | None, typer.Option(help="OAuth 2.0 scopes, space-separated.")] = None,
    hmac_scheme: Annotated[
        str | None, typer.Option(help="hmac: rfc9421 (default) or simple (HMAC-SHA256).")
    ] = None,
    signature_method: Annotated[
        str | None, typer.Option(help="oauth1: HMAC-SHA1 (default), HMAC-SHA256 or PLAINTEXT.")
    ] = None,
    header: Annotated[
        list[str] | None, typer.Option("-H", "--header", help="'Name: value', repeatable.")
    ] = None,
    data: Annotated[
        str | None, typer.Option("--data", "-d", help="The body, or @FILE to read it from.")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Print the signed request (secrets redacted).")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the server.")] = 30.0,
    profile: Annotated[
        str | None, typer.Option(help="Auth options and {{variables}} of this profile.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Send one request signed with any authgate scheme (or AWS's, OAuth's) and print the answer.

    Example: authgate request GET http://127.0.0.1:8000/v1/whoami --auth aws
    --key '{{AUTHGATE_KEY}}' --secret '{{AUTHGATE_SECRET}}'
    """
    options: dict[str, Any] = {
        "key": key, "secret": secret, "user": user, "password": password, "token": token,
        "location": location, "header_name": header_name, "region": region, "service": service,
        "session_token": session_token, "token_url": token_url, "client_id": client_id,
        "client_secret": client_secret, "scope": scope, "hmac_scheme": hmac_scheme,
        "signature_method": signature_method,
    }  # fmt: skip
    try:
        values: Mapping[str, str] = os.environ
        if profile is not None:
            auth, values = _with_profile(profile, auth, options)
        auth = auth or "none"
        options = {k: _expand(v, values) for k, v in options.items()}
        url = _expand(url, values) or ""
        headers = _headers([_expand(h, values) or "" for h in header or []])
        body = _body(_expand(data, values))
        if auth not in AUTH_TYPES:
            raise _BadOption(f"--auth must be one of {', '.join(AUTH_TYPES)}")
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise _BadOption(f"not an http(s) URL: {url}")
        signer = _oauth2(options) if auth == "oauth2" else _auth(auth, url, options)
    except (_BadOption, ValueError) as exc:
        fail(str(exc), as_json=as_json)
    secrets_ = [
        v
        for k, v in options.items()
        if v and k in ("secret", "password", "token", "session_token", "client_secret")
    ]
    if auth == "apikey" and options["key"]:
        secrets_.append(options["key"])
    hooks = {"request": [lambda r: _show(r, secrets_)]} if verbose else {}
    try:
        with httpx2.Client(timeout=timeout, event_hooks=hooks) as client:
            response = client.request(
                method.upper(), url, headers=headers, content=body, auth=signer
            )
    except TokenError as exc:
        fail(redact(f"could not get a token: {exc}", secrets_), as_json=as_json)
    except httpx2.TimeoutException:
        fail(f"no answer from {urlsplit(url).netloc} within {timeout:g} s", as_json=as_json)
    except httpx2.HTTPError as exc:
        reason = redact(str(exc) or type(exc).__name__, secrets_)
        fail(f"cannot reach {urlsplit(url).netloc}: {reason}", as_json=as_json)
    _print(response, as_json=as_json)


def _print(response: httpx2.Response, *, as_json: bool) -> None:
    body = _parsed_body(response)
    if as_json:
        emit(
            {"status": response.status_code, "headers": dict(response.headers), "body": body},
            as_json=True,
        )
        return
    console.print(f"{response.status_code} {response.reason_phrase}", markup=False)
    for name, value in response.headers.multi_items():
        console.print(f"{name}: {value}", markup=False, style="dim")
    console.print()
    if isinstance(body, dict | list):
        console.print_json(json.dumps(body))
    else:
        sys.stdout.write(body + ("" if body.endswith("\n") else "\n"))
