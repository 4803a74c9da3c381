"""Decisions: precedence, schemes, scopes (all/any), roles, anonymous, ip_allow, defaults."""

from __future__ import annotations

from typing import Any

import pytest

from authgate.errors import Forbidden, InsufficientScope, Unauthorized
from authgate.identity import Identity
from authgate.policy import Decision, Policy, decide, parse_policy


def who(
    scheme: str = "apikey", scopes: tuple[str, ...] = (), roles: tuple[str, ...] = ()
) -> Identity:
    return Identity(subject="alice", principal_id="u1", scheme=scheme, scopes=scopes, roles=roles)


def policy(*routes: dict[str, Any], default: str = "deny") -> Policy:
    return parse_policy({"default": default, "routes": list(routes)})


def run(
    p: Policy,
    path: str,
    identity: Identity | None = None,
    method: str = "GET",
    ip: str | None = "192.0.2.10",
) -> Decision:
    return decide(p, method, path, identity, ip)


# -- precedence -------------------------------------------------------------------------

PRECEDENCE = policy(
    {"name": "catch-all", "path": "/**", "roles": ["root"]},
    {"name": "api-rest", "path": "/api/**", "scopes": ["api"]},
    {"name": "api-v1-rest", "path": "/api/v1/**", "scopes": ["v1"]},
    {"name": "item", "path": "/api/v1/items/{id}", "scopes": ["items"]},
    {"name": "item-star", "path": "/api/v1/*/special"},
    {"name": "mine", "path": "/api/v1/items/mine"},
    {"name": "delete-item", "methods": ["DELETE"], "path": "/api/v1/items/{id}",
     "roles": ["admin"]},
    {"name": "user-x", "path": "/users/{id}/x"},
    {"name": "users-me-any", "path": "/users/me/{y}"},
)  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "route"),
    [
        ("GET", "/api/v1/items/mine", "mine"),  # exact beats param
        ("GET", "/api/v1/items/42", "item"),  # param beats wildcard
        ("GET", "/api/v1/items/42/parts", "api-v1-rest"),  # longer prefix wins
        ("GET", "/api/v1", "api-v1-rest"),  # /** matches its own prefix
        ("GET", "/api/v2/x", "api-rest"),
        ("GET", "/elsewhere", "catch-all"),
        ("GET", "/", "catch-all"),
        ("DELETE", "/api/v1/items/42", "delete-item"),  # method-specific beats "*"
        ("DELETE", "/api/v1/items/mine", "mine"),  # ...but path specificity comes first
        ("GET", "/api/v1/items/special", "item"),  # left to right: literal 'items' beats '*'
        ("GET", "/users/me/x", "users-me-any"),  # left to right: 'me' beats {id}
    ],
)
def test_most_specific_route_wins(method: str, path: str, route: str) -> None:
    assert run(PRECEDENCE, path, who(), method=method).route == route


def test_order_in_the_file_does_not_matter() -> None:
    reversed_policy = policy(*reversed([r.model_dump() for r in PRECEDENCE.routes]))
    for path in ("/api/v1/items/mine", "/api/v1/items/1", "/api/v1/items/1/x", "/zzz"):
        assert run(reversed_policy, path, who()).route == run(PRECEDENCE, path, who()).route


def test_get_rule_covers_head_unless_head_has_its_own() -> None:
    p = policy({"methods": ["GET"], "path": "/a", "roles": ["admin"]}, default="authenticated")
    head = run(p, "/a", who(), method="HEAD")
    assert head.status == 403 and head.route == "GET /a"  # not the looser default
    p2 = policy(
        {"methods": ["GET"], "path": "/a", "roles": ["admin"]},
        {"methods": ["HEAD"], "path": "/a"},
    )
    assert run(p2, "/a", who(), method="HEAD").allowed


def test_method_is_compared_upper_case() -> None:
    p = policy({"methods": ["GET"], "path": "/a", "roles": ["admin"]}, default="authenticated")
    assert run(p, "/a", who(), method="get").route == "GET /a"


def test_other_methods_fall_to_the_default() -> None:
    p = policy({"methods": ["GET"], "path": "/a", "anonymous": True})
    assert run(p, "/a").allowed
    post = run(p, "/a", method="POST")
    assert post.status == 401 and post.route is None


# -- default ------------------------------------------------------------------------------


def test_default_deny() -> None:
    p = policy()
    anonymous = run(p, "/x")
    assert anonymous.status == 401 and isinstance(anonymous.error, Unauthorized)
    authenticated = run(p, "/x", who(roles=("admin",), scopes=("everything",)))
    assert authenticated.status == 403 and type(authenticated.error) is Forbidden
    assert authenticated.error.code == "forbidden" and "default is deny" in authenticated.reason


def test_default_is_deny_when_not_set() -> None:
    assert parse_policy({}).default == "deny"
    assert run(parse_policy({}), "/x", who()).status == 403


def test_default_authenticated() -> None:
    p = policy(default="authenticated")
    assert run(p, "/x").status == 401
    assert run(p, "/x", who(scheme="anonymous")).status == 401
    ok = run(p, "/x", who())
    assert ok.allowed and ok.status == 200 and ok.error is None and ok.route is None


# -- anonymous ----------------------------------------------------------------------------


def test_anonymous_route_admits_everyone() -> None:
    p = policy({"path": "/pub", "anonymous": True})
    assert run(p, "/pub").allowed
    assert run(p, "/pub", who()).allowed
    assert run(p, "/pub", who(scheme="anonymous")).allowed


def test_route_without_anonymous_needs_credentials() -> None:
    p = policy({"path": "/a"})
    d = run(p, "/a")
    assert d.status == 401 and d.route == "* /a" and d.error is not None
    assert d.error.code == "unauthorized"
    assert run(p, "/a", who(scheme="anonymous")).status == 401
    assert run(p, "/a", who()).allowed


# -- schemes ------------------------------------------------------------------------------


def test_schemes_restrict_how_the_caller_authenticated() -> None:
    p = policy({"path": "/s", "schemes": ["sigv4", "httpsig"]})
    assert run(p, "/s", who("sigv4")).allowed
    assert run(p, "/s", who("httpsig")).allowed
    refused = run(p, "/s", who("apikey"))
    assert refused.status == 403 and type(refused.error) is Forbidden
    assert "scheme apikey" in refused.reason
    assert run(p, "/s").status == 401


# -- scopes -------------------------------------------------------------------------------


def test_scopes_all() -> None:
    p = policy({"path": "/w", "scopes": ["read", "write"]})
    assert run(p, "/w", who(scopes=("read", "write", "extra"))).allowed
    d = run(p, "/w", who(scopes=("read",)))
    assert d.status == 403 and isinstance(d.error, InsufficientScope)
    assert d.error.code == "insufficient_scope" and "missing scope(s) write" in d.reason
    assert run(p, "/w", who()).status == 403


def test_scopes_any() -> None:
    p = policy({"path": "/w", "scopes": ["read", "admin"], "scopes_mode": "any"})
    assert run(p, "/w", who(scopes=("admin",))).allowed
    assert run(p, "/w", who(scopes=("read",))).allowed
    d = run(p, "/w", who(scopes=("write",)))
    assert isinstance(d.error, InsufficientScope)


def test_insufficient_scope_challenge_for_bearer_callers_only() -> None:
    p = policy({"path": "/w", "scopes": ["read", "write"]})
    bearer = run(p, "/w", who("bearer"))
    assert bearer.error is not None
    assert bearer.error.challenges == (
        'Bearer realm="authgate", error="insufficient_scope", scope="read write"',
    )
    apikey = run(p, "/w", who("apikey"))
    assert apikey.error is not None and apikey.error.challenges == ()


# -- roles --------------------------------------------------------------------------------


def test_roles_any_of() -> None:
    p = policy({"path": "/adm", "roles": ["admin", "ops"]})
    assert run(p, "/adm", who(roles=("ops",))).allowed
    assert run(p, "/adm", who(roles=("member", "admin"))).allowed
    d = run(p, "/adm", who(roles=("member",)))
    assert d.status == 403 and type(d.error) is Forbidden and "none of the roles" in d.reason


def test_checks_in_order_scheme_then_scope_then_role() -> None:
    p = policy({"path": "/x", "schemes": ["bearer"], "scopes": ["s"], "roles": ["r"]})
    assert "scheme" in run(p, "/x", who("apikey")).reason
    assert isinstance(run(p, "/x", who("bearer")).error, InsufficientScope)
    assert "roles" in run(p, "/x", who("bearer", scopes=("s",))).reason
    assert run(p, "/x", who("bearer", scopes=("s",), roles=("r",))).allowed


# -- ip_allow -----------------------------------------------------------------------------

IPS = policy(
    {"path": "/internal/**", "anonymous": True, "ip_allow": ["10.0.0.0/8", "2001:db8::/32"]},
    {"path": "/ops", "roles": ["ops"], "ip_allow": ["192.0.2.0/24"]},
)


@pytest.mark.parametrize(
    ("ip", "allowed"),
    [
        ("10.1.2.3", True),
        ("10.255.255.255", True),
        ("11.0.0.1", False),
        ("2001:db8::1", True),
        ("2001:db8:ffff::1", True),
        ("2001:db9::1", False),
        ("::ffff:10.1.2.3", True),  # IPv4-mapped IPv6: the IPv4 client on a dual-stack socket
        ("::ffff:11.1.2.3", False),
        ("fe80::1%eth0", False),
        ("not-an-ip", False),
        ("", False),
        (None, False),
    ],
)
def test_ip_allow_ipv4_and_ipv6(ip: str | None, allowed: bool) -> None:
    d = run(IPS, "/internal/x", ip=ip)
    assert d.allowed is allowed
    if not allowed:
        assert d.status == 403 and type(d.error) is Forbidden and "ip_allow" in d.reason


def test_ip_is_checked_before_credentials() -> None:
    assert run(IPS, "/ops", ip="203.0.113.1").status == 403  # not asked to authenticate
    assert run(IPS, "/ops", ip="192.0.2.1").status == 401
    assert run(IPS, "/ops", who(roles=("ops",)), ip="192.0.2.1").allowed
    assert run(IPS, "/ops", who(roles=("ops",)), ip="203.0.113.1").status == 403


# -- the decision itself ------------------------------------------------------------------


def test_decision_is_explainable_and_carries_the_rate_limit() -> None:
    p = policy({"name": "reads", "path": "/r", "rate_limit": {"rate": "100/m", "burst": 20}})
    d = run(p, "/r/", who())
    assert d == Decision(True, 200, None, "reads", "all requirements met", "/r", d.rate_limits)
    [limit] = d.rate_limits
    assert limit.limit == 100 and limit.period == 60 and limit.burst == 20
    assert limit.key == "credential"


def test_a_route_combines_several_rate_limits() -> None:
    p = policy(
        {
            "path": "/r",
            "rate_limits": [{"rate": "10/s", "key": "credential"}, {"rate": "100/m", "key": "ip"}],
        }
    )
    d = run(p, "/r", who())
    assert [(limit.rate, limit.key) for limit in d.rate_limits] == [
        ("10/s", "credential"),
        ("100/m", "ip"),
    ]
    with pytest.raises(ValueError, match="not both"):
        policy({"path": "/r", "rate_limit": {"rate": "1/s"}, "rate_limits": [{"rate": "2/s"}]})


def test_decisions_are_deterministic() -> None:
    for path in ("/api/v1/items/1", "/nope", "/api/../x", "/a%2fb"):
        first = run(PRECEDENCE, path, who(scopes=("v1",)))
        for _ in range(3):
            again = run(PRECEDENCE, path, who(scopes=("v1",)))
            assert (again.allowed, again.status, again.route, again.reason) == (
                first.allowed,
                first.status,
                first.route,
                first.reason,
            )
