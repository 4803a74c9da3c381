"""Loading policy files: TOML and YAML, and every kind of mistake reported with its location."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from authgate.identity import Identity
from authgate.policy import PolicyError, decide, load_policy, parse_policy

TOML = dedent(
    """
    version = 1
    default = "deny"

    [[routes]]
    path = "/health"
    methods = ["GET"]
    anonymous = true

    [[routes]]
    name = "write items"
    path = "/v1/items/{id}"
    methods = ["PUT", "delete"]
    schemes = ["bearer", "apikey"]
    scopes = ["items:write", "items:admin"]
    scopes_mode = "any"
    roles = ["member", "admin"]
    ip_allow = ["10.0.0.0/8", "2001:db8::/32"]
    rate_limit = { rate = "100/m", burst = 20, key = "principal" }
    """
)

YAML = dedent(
    """
    version: 1
    default: deny
    routes:
      - path: /health
        methods: [GET]
        anonymous: true
      - name: write items
        path: "/v1/items/{id}"
        methods: [PUT, delete]
        schemes: [bearer, apikey]
        scopes: ["items:write", "items:admin"]
        scopes_mode: any
        roles: [member, admin]
        ip_allow: [10.0.0.0/8, "2001:db8::/32"]
        rate_limit: {rate: 100/m, burst: 20, key: principal}
    """
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("name", "text"), [("p.toml", TOML), ("p.yaml", YAML), ("p.yml", YAML)])
def test_toml_and_yaml_load_the_same_policy(tmp_path: Path, name: str, text: str) -> None:
    policy = load_policy(write(tmp_path, name, text))
    assert policy == load_policy(write(tmp_path, "ref.toml", TOML))
    route = policy.routes[1]
    assert route.methods == ("PUT", "DELETE")
    assert route.rate_limit is not None and route.rate_limit.key == "principal"
    assert [str(n) for n in route.ip_allow or ()] == ["10.0.0.0/8", "2001:db8::/32"]
    caller = Identity("a", "1", "bearer", scopes=("items:admin",), roles=("member",))
    assert decide(policy, "DELETE", "/v1/items/9", caller, "10.0.0.1").route == "write items"


def test_empty_file_is_a_deny_all_policy(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, "empty.yaml", ""))
    assert policy.default == "deny" and policy.routes == ()


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(PolicyError) as info:
        parse_policy(data)
    return list(info.value.problems)


def test_unknown_keys_are_errors_with_their_location() -> None:
    assert problems({"defualt": "deny"}) == ["defualt: unknown key"]
    assert problems({"routes": [{"path": "/a"}, {"path": "/b", "role": ["x"]}]}) == [
        "routes[1].role (path '/b'): unknown key"
    ]
    assert problems({"routes": [{"path": "/a", "rate_limit": {"rate": "1/s", "per": "ip"}}]}) == [
        "routes[0].rate_limit.per (path '/a'): unknown key"
    ]


@pytest.mark.parametrize(
    ("cidr", "why"),
    [
        ("10.0.0.1/8", "host bits set"),
        ("10.0.0.0/33", "10.0.0.0/33"),
        ("banana", "banana"),
        ("2001:db8::1/32", "host bits set"),
    ],
)
def test_bad_cidr(cidr: str, why: str) -> None:
    [problem] = problems({"routes": [{"path": "/a", "ip_allow": ["10.0.0.0/8", cidr]}]})
    assert problem.startswith("routes[0].ip_allow[1] (path '/a'): ")
    assert "not a CIDR network" in problem and why in problem


def test_empty_ip_allow_is_an_error_not_allow_nobody_by_accident() -> None:
    [problem] = problems({"routes": [{"path": "/a", "ip_allow": []}]})
    assert "ip_allow" in problem and "must not be empty" in problem


@pytest.mark.parametrize("rate", ["100", "100/x", "0/m", "-1/s", "1.5/s", "/m", "100/0m", ""])
def test_bad_rate(rate: str) -> None:
    [problem] = problems({"routes": [{"path": "/a", "rate_limit": {"rate": rate}}]})
    assert problem.startswith("routes[0].rate_limit.rate (path '/a'): ")


def test_rate_limit_structure() -> None:
    p = parse_policy({"routes": [{"path": "/a", "rate_limit": {"rate": "1000/15m", "key": "ip"}}]})
    rl = p.routes[0].rate_limit
    assert rl is not None and (rl.limit, rl.period, rl.burst, rl.key) == (1000, 900, None, "ip")
    assert problems({"routes": [{"path": "/a", "rate_limit": {"rate": "1/s", "key": "user"}}]})
    assert problems({"routes": [{"path": "/a", "rate_limit": {"rate": "1/s", "burst": -1}}]})


@pytest.mark.parametrize(
    ("routes", "fragment"),
    [
        ([{"path": "/a/{x}"}, {"path": "/a/*"}], "both cover every method on /a/*"),
        ([{"path": "/a", "methods": ["GET"]}, {"path": "/a", "methods": ["POST", "GET"]}], "GET"),
        ([{"path": "/a/**", "methods": ["GET"]}, {"path": "/a/**", "methods": ["get"]}], "GET"),
        ([{"path": "/a/{id}/b"}, {"path": "/a/{name}/b"}], "/a/*/b"),
        ([{"path": "/a", "methods": ["GET"]}, {"path": "/a", "methods": ["HEAD", "GET"]}], "GET"),
    ],
)
def test_overlapping_routes_are_a_config_error(routes: list[Any], fragment: str) -> None:
    [problem] = problems({"routes": routes})
    assert "routes[0]" in problem and "routes[1]" in problem and fragment in problem


def test_routes_that_only_look_alike_are_fine() -> None:
    parse_policy(
        {
            "routes": [
                {"path": "/a", "methods": ["GET"]},
                {"path": "/a", "methods": ["POST"]},
                {"path": "/a"},  # "*" is less specific than a method list
                {"path": "/a/{id}"},
                {"path": "/a/b"},
                {"path": "/a/**"},
                {"path": "/a/b/**"},
            ]
        }
    )


@pytest.mark.parametrize(
    ("route", "location", "fragment"),
    [
        ({"path": "a"}, "routes[0].path", "must start with '/'"),
        ({"path": "/a/**/b"}, "routes[0].path", "'**'"),
        ({"path": "/a", "methods": "GET"}, "routes[0].methods", "must be a list"),
        ({"path": "/a", "methods": []}, "routes[0].methods", "must not be empty"),
        ({"path": "/a", "methods": ["G E T"]}, "routes[0].methods", "not an HTTP method"),
        ({"path": "/a", "methods": ["GET", "get"]}, "routes[0].methods", "twice"),
        ({"path": "/a", "schemes": ["kerberos"]}, "routes[0].schemes[0]", "Input should be"),
        ({"path": "/a", "schemes": []}, "routes[0].schemes", "must not be empty"),
        ({"path": "/a", "schemes": ["anonymous"]}, "routes[0].schemes", "anonymous = true"),
        ({"path": "/a", "scopes": ["a b"]}, "routes[0].scopes", "scope token"),
        ({"path": "/a", "scopes_mode": "some"}, "routes[0].scopes_mode", "'all' or 'any'"),
        ({"path": "/a", "roles": [" admin"]}, "routes[0].roles", "not a role name"),
        ({"path": "/a", "anonymous": True, "scopes": ["x"]}, "routes[0]", "anonymous route"),
        ({"path": "/a", "anonymous": True, "roles": ["x"]}, "routes[0]", "anonymous route"),
        ({"path": "/a", "anonymous": "yes please"}, "routes[0].anonymous", "boolean"),
    ],
)
def test_route_field_errors(route: dict[str, Any], location: str, fragment: str) -> None:
    [problem] = problems({"routes": [route]})
    assert problem.startswith(location + " ") or problem.startswith(location + ":"), problem
    assert fragment in problem


def test_top_level_errors() -> None:
    assert problems({"default": "allow"})[0].startswith("default: ")
    assert problems({"version": 2})[0].startswith("version: ")
    assert problems({"routes": {"path": "/a"}})[0].startswith("routes: ")


def test_all_problems_are_reported_at_once() -> None:
    found = problems(
        {"routes": [{"path": "x", "bogus": 1}, {"path": "/b", "ip_allow": ["300.0.0.0/8"]}]}
    )
    assert len(found) == 3


@pytest.mark.parametrize(
    ("name", "text", "fragment"),
    [
        ("bad.toml", "routes = [\n{ path = '/a' \n", "TOML syntax"),
        ("bad.yaml", "routes:\n  - path: /a\n   bad: [\n", "YAML syntax: line"),
        ("list.yaml", "- path: /a\n", "top level"),
        ("p.json", "{}", "unknown format"),
    ],
)
def test_file_errors(tmp_path: Path, name: str, text: str, fragment: str) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(write(tmp_path, name, text))
    assert info.value.source.endswith(name)
    assert fragment in info.value.problems[0]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "nope.toml")


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    text = "routes: !!python/object/apply:os.system ['echo pwned']\n"
    with pytest.raises(PolicyError, match="YAML syntax"):
        load_policy(write(tmp_path, "evil.yaml", text))
