"""Postman collections (format v2.1): the requests they hold and the auth that signs them.

Sans-I/O: :func:`load_collection` turns the collection's JSON into a flat list of
:class:`Step` (folders walked depth-first, in order), each with the auth it inherits as
Postman does — a request's own ``auth``, else its folder's, else the enclosing folders',
else the collection's; ``{"type": "noauth"}`` at any level stops the inheritance.
:func:`auth_for` turns a step's auth into an :mod:`authgate.client` class. Sending is the
caller's (``authgate run``).

Schema: https://schema.postman.com/collection/json/v2.1.0/draft-07/collection.json
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

import httpx2

from authgate.client.oauth1 import OAuth1Auth
from authgate.client.sigv4 import AWSSigV4Auth
from authgate.client.simple import APIKeyAuth, BasicAuth, BearerAuth, NoAuth
from authgate.client.tokens import OAuth2ClientCredentials

__all__ = [
    "AUTH_TYPES",
    "SECRET_ATTRIBUTES",
    "CollectionError",
    "Step",
    "auth_for",
    "environment_values",
    "load_collection",
    "parse_json",
]

#: The ``auth.type`` values :func:`auth_for` signs with.
AUTH_TYPES = ("noauth", "basic", "bearer", "apikey", "oauth1", "oauth2", "awsv4")
#: Auth attributes that hold secrets (for redaction by the caller).
SECRET_ATTRIBUTES = frozenset(
    {"password", "token", "value", "consumerSecret", "tokenSecret", "accessToken",
     "clientSecret", "secretKey", "sessionToken"}
)  # fmt: skip


class CollectionError(ValueError):
    """The JSON is not a Postman v2 collection (or environment) this module understands."""


@dataclass(frozen=True, slots=True)
class Step:
    """One request of a collection, variables not yet substituted.

    Attributes:
        name: the folders' and the request's names, joined by `` / ``.
        method: the HTTP method.
        url: the URL as written (``{{baseUrl}}/v1/...``).
        headers: the enabled headers.
        body: the body as text, or None.
        auth: the auth attributes after inheritance (``{"type": ..., key: value}``), or
            None for no auth.
    """

    name: str
    method: str
    url: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str | None = None
    auth: dict[str, Any] | None = None


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CollectionError(f"{what} must be a JSON object")
    return value


def _auth(value: Any, inherited: dict[str, Any] | None, where: str) -> dict[str, Any] | None:
    """The auth of one level: its own (``noauth`` → None), else the inherited one."""
    if value is None:
        return inherited
    value = _object(value, f"{where}: auth")
    kind = value.get("type")
    if kind not in AUTH_TYPES:
        raise CollectionError(f"{where}: auth type {kind!r} is not one of {', '.join(AUTH_TYPES)}")
    if kind == "noauth":
        return None
    attributes = value.get(kind, [])
    if isinstance(attributes, dict):  # the v2.0 form: {"username": "..."}
        return {"type": kind, **attributes}
    if not isinstance(attributes, list):
        raise CollectionError(f"{where}: auth.{kind} must be a list of {{key, value}}")
    out: dict[str, Any] = {"type": kind}
    for a in attributes:
        a = _object(a, f"{where}: auth.{kind}[]")
        out[str(a.get("key"))] = a.get("value")
    return out


def _pairs(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The enabled ``{key, value}`` pairs of a query or a form."""
    return [(str(i["key"]), str(i.get("value") or "")) for i in items if not i.get("disabled")]


def _url(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    url = _object(value, f"{where}: url")
    if isinstance(url.get("raw"), str):
        return str(url["raw"])
    host = url.get("host", [])
    host = ".".join(host) if isinstance(host, list) else str(host)
    path = url.get("path", [])
    path = "/".join(path) if isinstance(path, list) else str(path).lstrip("/")
    query = [
        (q["key"], q.get("value") or "") for q in url.get("query", []) if not q.get("disabled")
    ]
    text = f"{url.get('protocol', 'http')}://{host}/{path}"
    return text + (f"?{urlencode(query, safe='{}')}" if query else "")


def _body(value: Any, headers: list[tuple[str, str]], where: str) -> str | None:
    if value is None:
        return None
    body = _object(value, f"{where}: body")
    mode = body.get("mode")
    if mode == "raw":
        language = body.get("options", {}).get("raw", {}).get("language")
        if language == "json" and not any(n.lower() == "content-type" for n, _ in headers):
            headers.append(("Content-Type", "application/json"))
        return str(body.get("raw", ""))
    if mode == "urlencoded":
        if not any(n.lower() == "content-type" for n, _ in headers):
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        fields = [
            (f["key"], f.get("value") or "") for f in body["urlencoded"] if not f.get("disabled")
        ]
        return urlencode(fields, safe="{}")
    if mode in (None, "none"):
        return None
    raise CollectionError(f"{where}: body mode {mode!r} is not supported (raw, urlencoded)")


def _request(item: dict[str, Any], name: str, auth: dict[str, Any] | None) -> Step:
    request = item.get("request")
    if isinstance(request, str):  # a bare URL: GET it
        return Step(name, "GET", request, auth=auth)
    request = _object(request, f"{name}: request")
    headers = [
        (str(h["key"]), str(h.get("value", "")))
        for h in request.get("header", [])
        if isinstance(h, dict) and "key" in h and not h.get("disabled")
    ]
    body = _body(request.get("body"), headers, name)
    return Step(
        name,
        str(request.get("method", "GET")).upper(),
        _url(request.get("url"), name),
        headers,
        body,
        _auth(request.get("auth"), auth, name),
    )


def _walk(items: Any, prefix: str, auth: dict[str, Any] | None, out: list[Step]) -> None:
    if not isinstance(items, list):
        raise CollectionError(f"{prefix or 'the collection'}: item must be a list")
    for item in items:
        item = _object(item, f"{prefix or 'the collection'}: an item")
        name = f"{prefix} / {item.get('name', '?')}" if prefix else str(item.get("name", "?"))
        if "item" in item:  # a folder
            _walk(item["item"], name, _auth(item.get("auth"), auth, name), out)
        elif "request" in item:
            out.append(_request(item, name, auth))
        else:
            raise CollectionError(f"{name}: neither a request nor a folder")


def load_collection(data: Any) -> tuple[list[Step], dict[str, str]]:
    """The steps of a collection and its variables.

    Raises:
        CollectionError: the JSON is not a collection.
    """
    data = _object(data, "a collection")
    info = _object(data.get("info"), "a collection's info (is this a Postman collection?)")
    schema = str(info.get("schema", ""))
    if "collection" not in schema or "v2." not in schema:
        raise CollectionError("not a Postman collection v2.0/v2.1 (info.schema)")
    try:
        steps: list[Step] = []
        _walk(data.get("item", []), "", _auth(data.get("auth"), None, "the collection"), steps)
        variables = {
            str(v["key"]): str(v.get("value", ""))
            for v in data.get("variable", [])
            if not v.get("disabled")
        }
    except (KeyError, TypeError, AttributeError) as exc:
        raise CollectionError(f"malformed collection: {type(exc).__name__} {exc}") from exc
    return steps, variables


def environment_values(data: Any) -> dict[str, str]:
    """The enabled values of a Postman environment file (``{"values": [...]}``).

    Raises:
        CollectionError: the JSON is not an environment.
    """
    data = _object(data, "an environment")
    values = data.get("values")
    if not isinstance(values, list):
        raise CollectionError("not a Postman environment (no values list)")
    try:
        return {str(v["key"]): str(v.get("value", "")) for v in values if v.get("enabled", True)}
    except (KeyError, TypeError, AttributeError) as exc:
        raise CollectionError(f"malformed environment: {type(exc).__name__} {exc}") from exc


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def auth_for(auth: Mapping[str, Any] | None, expand: Callable[[str], str]) -> httpx2.Auth:
    """The :mod:`authgate.client` class that signs as ``auth`` says.

    Args:
        auth: a :class:`Step`'s auth.
        expand: substitutes ``{{variables}}`` in an attribute's value.

    Raises:
        ValueError: an attribute is missing or not supported.
    """
    if auth is None:
        return NoAuth()
    kind = auth["type"]

    def get(name: str, default: str = "") -> str:
        value = auth.get(name)
        return default if value is None or value == "" else expand(str(value))

    def need(name: str) -> str:
        value = get(name)
        if not value:
            raise ValueError(f"{kind} auth needs {name}")
        return value

    where: Literal["header", "query"] = "query" if get("in") == "query" else "header"
    if kind == "basic":
        return BasicAuth(get("username"), get("password"))
    if kind == "bearer":
        return BearerAuth(need("token"))
    if kind == "apikey":
        return APIKeyAuth(need("value"), name=need("key"), location=where)
    if kind == "awsv4":
        return AWSSigV4Auth(
            need("accessKey"),
            need("secretKey"),
            region=get("region", "us-east-1"),
            service=get("service", "execute-api"),
            session_token=get("sessionToken") or None,
            location="query" if _flag(auth.get("addAuthDataToQuery")) else "header",
        )
    if kind == "oauth1":
        return OAuth1Auth(
            need("consumerKey"),
            get("consumerSecret"),
            token=get("token") or None,
            token_secret=get("tokenSecret"),
            signature_method=get("signatureMethod", "HMAC-SHA1"),
            placement="header" if _flag(auth.get("addParamsToHeader", True)) else "query",
            realm=get("realm") or None,
        )
    return _oauth2(auth, get, need)


def _oauth2(
    auth: Mapping[str, Any], get: Callable[..., str], need: Callable[[str], str]
) -> httpx2.Auth:
    token = get("accessToken")
    if token and get("addTokenTo", "header") == "queryParams":
        return APIKeyAuth(token, name="access_token", location="query")
    if token:
        return BearerAuth(token)
    grant = get("grant_type", "authorization_code")
    if grant != "client_credentials":
        raise ValueError(
            f"oauth2 auth: grant {grant!r} needs an accessToken (or client_credentials)"
        )
    return OAuth2ClientCredentials(
        need("accessTokenUrl"), need("clientId"), need("clientSecret"), scope=get("scope") or None
    )


def parse_json(text: str, what: str) -> Any:
    """``json.loads`` with a one-line :class:`CollectionError`."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CollectionError(f"{what} is not JSON: {exc}") from exc
