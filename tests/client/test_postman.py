"""authgate.client.postman: folders, auth inheritance, bodies, and every auth type's class."""

from __future__ import annotations

from typing import Any

import pytest

from authgate.client import (
    APIKeyAuth,
    AWSSigV4Auth,
    BasicAuth,
    BearerAuth,
    NoAuth,
    OAuth1Auth,
    OAuth2ClientCredentials,
)
from authgate.client.postman import (
    CollectionError,
    auth_for,
    environment_values,
    load_collection,
)
from authgate.client.variables import MissingVariable, substitute

SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"


def auth(kind: str, **attrs: Any) -> dict[str, Any]:
    return {"type": kind, kind: [{"key": k, "value": v} for k, v in attrs.items()]}


def get(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "request": {"method": "GET", "url": "{{base}}/x", **extra}}


def collection(**extra: Any) -> dict[str, Any]:
    return {
        "info": {"name": "c", "schema": SCHEMA},
        "auth": auth("basic", username="u", password="p"),
        "variable": [{"key": "base", "value": "http://h"}, {"key": "off", "disabled": True}],
        "item": [
            get("top"),
            {
                "name": "F",
                "auth": auth("bearer", token="t"),
                "item": [
                    get("inherits"),
                    {"name": "G", "auth": {"type": "noauth"}, "item": [get("none")]},
                    get("own", auth=auth("apikey", key="X-K", value="v", **{"in": "query"})),
                ],
            },
        ],
        **extra,
    }


def test_folders_flatten_in_order_and_auth_is_inherited() -> None:
    steps, variables = load_collection(collection())
    assert variables == {"base": "http://h"}
    assert [s.name for s in steps] == ["top", "F / inherits", "F / G / none", "F / own"]
    kinds = [s.auth and s.auth["type"] for s in steps]
    assert kinds == ["basic", "bearer", None, "apikey"]
    assert steps[0].auth == {"type": "basic", "username": "u", "password": "p"}


def test_bodies_headers_and_url_objects() -> None:
    item = {
        "name": "post",
        "request": {
            "method": "post",
            "header": [{"key": "A", "value": "1"}, {"key": "B", "value": "2", "disabled": True}],
            "url": {
                "protocol": "http",
                "host": ["{{host}}"],
                "path": ["v1", "keys"],
                "query": [{"key": "a", "value": "1"}, {"key": "z", "disabled": True}],
            },
            "body": {"mode": "raw", "raw": '{"n": 1}', "options": {"raw": {"language": "json"}}},
        },
    }
    form = get("form", body={"mode": "urlencoded", "urlencoded": [{"key": "k", "value": "v"}]})
    steps, _ = load_collection({"info": {"schema": SCHEMA}, "item": [item, form]})
    assert steps[0].method == "POST" and steps[0].url == "http://{{host}}/v1/keys?a=1"
    assert steps[0].headers == [("A", "1"), ("Content-Type", "application/json")]
    assert steps[0].body == '{"n": 1}' and steps[0].auth is None
    assert steps[1].body == "k=v"
    assert ("Content-Type", "application/x-www-form-urlencoded") in steps[1].headers


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "a collection must be a JSON object"),
        ({"item": []}, "is this a Postman collection"),
        ({"info": {"schema": "v1"}}, "not a Postman collection v2.0/v2.1"),
        ({"info": {"schema": SCHEMA}, "item": {}}, "item must be a list"),
        ({"info": {"schema": SCHEMA}, "item": [{"name": "x"}]}, "x: neither a request"),
        ({"info": {"schema": SCHEMA}, "auth": {"type": "ntlm"}}, "auth type 'ntlm'"),
        ({"info": {"schema": SCHEMA}, "variable": [{}]}, "malformed collection"),
        (
            {"info": {"schema": SCHEMA}, "item": [get("f", body={"mode": "file"})]},
            "body mode 'file' is not supported",
        ),
    ],
)
def test_malformed_collections_raise_one_error(data: Any, message: str) -> None:
    with pytest.raises(CollectionError, match=message):
        load_collection(data)


def test_environment_values() -> None:
    env = {"values": [{"key": "a", "value": "1"}, {"key": "b", "value": "2", "enabled": False}]}
    assert environment_values(env) == {"a": "1"}
    with pytest.raises(CollectionError):
        environment_values({"name": "x"})


def expand(text: str) -> str:
    return substitute(text, {"S": "secret-value"})


@pytest.mark.parametrize(
    ("attrs", "cls", "check"),
    [
        (None, NoAuth, {}),
        (auth("basic", username="u", password="{{S}}"), BasicAuth, {}),
        (auth("bearer", token="{{S}}"), BearerAuth, {}),
        (auth("apikey", key="K", value="v"), APIKeyAuth, {"location": "header", "name": "K"}),
        (auth("apikey", key="k", value="v", **{"in": "query"}), APIKeyAuth, {"location": "query"}),
        (
            auth("awsv4", accessKey="a", secretKey="{{S}}", region="eu-west-1", service="s3"),
            AWSSigV4Auth,
            {"region": "eu-west-1", "service": "s3", "location": "header"},
        ),
        (
            auth("awsv4", accessKey="a", secretKey="s", addAuthDataToQuery=True),
            AWSSigV4Auth,
            {"location": "query", "region": "us-east-1"},
        ),
        (
            auth("oauth1", consumerKey="c", consumerSecret="s", signatureMethod="HMAC-SHA256"),
            OAuth1Auth,
            {"signature_method": "HMAC-SHA256", "placement": "header"},
        ),
        (
            auth("oauth1", consumerKey="c", consumerSecret="s", addParamsToHeader=False),
            OAuth1Auth,
            {"placement": "query"},
        ),
        (auth("oauth2", accessToken="{{S}}"), BearerAuth, {}),
        (
            auth("oauth2", accessToken="t", addTokenTo="queryParams"),
            APIKeyAuth,
            {"location": "query", "name": "access_token"},
        ),
        (
            auth(
                "oauth2", grant_type="client_credentials", accessTokenUrl="http://h/oauth/token",
                clientId="id", clientSecret="{{S}}", scope="read",
            ),
            OAuth2ClientCredentials,
            {"client_id": "id", "scope": "read", "token_url": "http://h/oauth/token"},
        ),
    ],
)  # fmt: skip
def test_each_auth_type_builds_its_class(
    attrs: dict[str, Any] | None, cls: type, check: dict[str, str]
) -> None:
    built = auth_for(None if attrs is None else _flat(attrs), expand)
    assert isinstance(built, cls)
    for name, value in check.items():
        assert getattr(built, name) == value
    assert "secret-value" not in repr(built)


def _flat(attrs: dict[str, Any]) -> dict[str, Any]:
    collection_ = {"info": {"schema": SCHEMA}, "auth": attrs, "item": [get("r")]}
    got = load_collection(collection_)[0][0].auth
    assert got is not None
    return got


def test_auth_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="bearer auth needs token"):
        auth_for({"type": "bearer"}, expand)
    with pytest.raises(ValueError, match="grant 'authorization_code' needs an accessToken"):
        auth_for({"type": "oauth2"}, expand)
    with pytest.raises(MissingVariable, match="NOPE"):
        auth_for({"type": "bearer", "token": "{{NOPE}}"}, expand)
