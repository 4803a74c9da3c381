"""Deciding one request against a policy: sans-I/O, deterministic, explainable.

The order of checks is fixed, and the first failing one decides:

1. The path is normalised (RFC 3986 §5.2.4, see :mod:`authgate.policy.paths`); anything
   ambiguous → 400 ``invalid_request``.
2. The most specific route covering the method and path is chosen; none → the policy's
   ``default`` (``deny``: 401 without credentials, else 403; ``authenticated``: 401
   without credentials, else allowed).
3. ``ip_allow``: a client IP outside every listed network (or unknown) → 403, before
   anything else, so a caller from the wrong network is not even asked to authenticate.
4. ``anonymous = true`` → allowed.
5. No credentials (no identity, or the ``anonymous`` scheme) → 401.
6. ``schemes`` → 403; ``scopes`` → 403 ``insufficient_scope`` (RFC 6750 §3.1); ``roles`` → 403.

The :class:`Decision` says which route decided and why; the reason is for logs and
``authgate policy test``, never for the response body.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address, ip_address

from authgate.errors import AuthError, Forbidden, InsufficientScope, InvalidRequest, Unauthorized
from authgate.identity import Identity
from authgate.policy.model import Network, Policy, RateLimit, Route
from authgate.policy.paths import split_path

__all__ = ["Decision", "decide", "is_anonymous"]


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of :func:`decide`.

    Attributes:
        allowed: True when the request may proceed.
        status: 200 when allowed, else the refusal's HTTP status (400, 401 or 403).
        error: the error to answer with, or None when allowed.
        route: label of the route that decided, or None when the default did (or the
            path was refused before matching).
        reason: a human explanation of the decision (internal: logs and test reports).
        path: the normalised path the decision was made on, or None when it was refused.
        rate_limits: the deciding route's rate limits, for the rate-limit layer.
    """

    allowed: bool
    status: int
    error: AuthError | None
    route: str | None
    reason: str
    path: str | None = None
    rate_limits: tuple[RateLimit, ...] = ()


def is_anonymous(identity: Identity | None) -> bool:
    """True when the caller presented no credentials."""
    return identity is None or identity.scheme == "anonymous"


def decide(
    policy: Policy,
    method: str,
    raw_path: str,
    identity: Identity | None,
    client_ip: str | None,
) -> Decision:
    """Decide whether ``identity`` may make this request.

    Args:
        policy: the policy.
        method: the request method (compared upper-cased).
        raw_path: the raw, percent-encoded request path (a ``?query`` is ignored). Never a
            client-supplied ``X-Forwarded-Uri``/``X-Original-URI`` unless the peer is a
            trusted proxy.
        identity: the authenticated caller, or None when no credentials were sent.
        client_ip: the trusted client address, or None when unknown.

    Returns:
        The decision; this function never raises.
    """
    try:
        segments = split_path(raw_path, max_length=policy.max_path_length)
    except InvalidRequest as exc:
        return Decision(False, 400, exc, None, f"path refused: {exc.reason}")
    path = "/" + "/".join(segments)
    method = method.upper()
    anonymous = is_anonymous(identity)
    for compiled in policy.index:
        if compiled.covers(method, segments):
            return _check_route(compiled.route, path, identity, anonymous, client_ip)
    if anonymous:
        return _deny(
            Unauthorized,
            None,
            path,
            f"no route matches {method} {path}; credentials required by the default",
        )
    if policy.default == "authenticated":
        return Decision(
            True,
            200,
            None,
            None,
            f"no route matches {method} {path}; default allows authenticated callers",
            path,
        )
    return _deny(Forbidden, None, path, f"no route matches {method} {path}; default is deny")


def _deny(
    error_type: type[AuthError],
    route: Route | None,
    path: str,
    reason: str,
    challenges: tuple[str, ...] = (),
) -> Decision:
    label = route.label if route is not None else None
    rate = route.limits if route is not None else ()
    error = error_type(reason=reason, challenges=challenges)
    return Decision(False, error.status, error, label, reason, path, rate)


def _check_route(
    route: Route, path: str, identity: Identity | None, anonymous: bool, client_ip: str | None
) -> Decision:
    label = route.label
    if route.ip_allow is not None and not _ip_allowed(client_ip, route.ip_allow):
        return _deny(
            Forbidden, route, path, f"client IP {client_ip or 'unknown'} is not in ip_allow"
        )
    if route.anonymous:
        return Decision(
            True, 200, None, label, "route allows anonymous callers", path, route.limits
        )
    if anonymous or identity is None:
        return _deny(Unauthorized, route, path, "route requires credentials; none were sent")
    if route.schemes is not None and identity.scheme not in route.schemes:
        return _deny(
            Forbidden,
            route,
            path,
            f"scheme {identity.scheme} is not one of {', '.join(route.schemes)}",
        )
    if route.scopes:
        held = set(identity.scopes)
        if route.scopes_mode == "all":
            missing = [s for s in route.scopes if s not in held]
            if missing:
                return _deny(
                    InsufficientScope,
                    route,
                    path,
                    f"missing scope(s) {' '.join(missing)} (all of {' '.join(route.scopes)})",
                    _scope_challenge(identity, route),
                )
        elif held.isdisjoint(route.scopes):
            return _deny(
                InsufficientScope,
                route,
                path,
                f"none of the scopes {' '.join(route.scopes)} (any of them is required)",
                _scope_challenge(identity, route),
            )
    if route.roles and not any(identity.has_role(r) for r in route.roles):
        return _deny(
            Forbidden,
            route,
            path,
            f"none of the roles {', '.join(route.roles)}; caller has "
            f"{', '.join(identity.roles) or 'no roles'}",
        )
    return Decision(True, 200, None, label, "all requirements met", path, route.limits)


def _scope_challenge(identity: Identity, route: Route) -> tuple[str, ...]:
    if identity.scheme != "bearer":
        return ()
    # RFC 6750 §3: tell an OAuth client which scopes to ask for
    scope = " ".join(route.scopes)
    return (f'Bearer realm="authgate", error="insufficient_scope", scope="{scope}"',)


def _ip_allowed(client_ip: str | None, networks: tuple[Network, ...]) -> bool:
    if client_ip is None:
        return False
    address = _parse_ip(client_ip)
    if address is None:
        return False
    return any(address.version == n.version and address in n for n in networks)


@lru_cache(maxsize=4096)
def _parse_ip(value: str) -> IPv4Address | IPv6Address | None:
    try:
        address = ip_address(value)
    except ValueError:
        return None
    if isinstance(address, IPv6Address):
        # ::ffff:192.0.2.1 is the IPv4 client on a dual-stack socket
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.scope_id:
            return IPv6Address(str(address).partition("%")[0])
    return address
