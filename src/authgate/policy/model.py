"""The policy file's data model: routes → who may call them (see docs/policy.md).

Models are pydantic v2, frozen, ``extra="forbid"`` (a misspelt key is an error, never a
silently ignored rule). Building a :class:`Policy` also compiles its routes into a
precedence-ordered index and refuses ambiguous ones: two routes with the same path shape
(RFC 3986 §3.3 segments; parameter names do not count) and an overlapping method at the
same level of method-specificity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, model_validator
from pydantic import field_validator as _field_validator

from authgate.policy.paths import DEFAULT_MAX_PATH_LENGTH, PathPattern

__all__ = [
    "SCHEME_NAMES",
    "CompiledRoute",
    "Policy",
    "RateLimit",
    "Route",
    "SchemeName",
]

SchemeName = Literal[
    "apikey", "basic", "bearer", "sigv4", "httpsig", "hmac", "oauth1", "mtls", "anonymous"
]
SCHEME_NAMES: tuple[str, ...] = get_args(SchemeName)

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 §5.6.2 token (methods)
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")  # RFC 6749 §3.3 scope-token
_RATE = re.compile(r"(?P<limit>[1-9][0-9]{0,8})/(?P<count>[1-9][0-9]{0,5})?(?P<unit>[smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

Network = IPv4Network | IPv6Network


def _network(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return ip_network(value.strip(), strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a CIDR network ({exc})") from None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class RateLimit(_Model):
    """A rate limit attached to a route, enforced by the rate-limit layer (GCRA)."""

    rate: str
    """Requests per period: ``100/m``, ``10/s``, ``1000/15m`` (units s, m, h, d)."""
    burst: int | None = Field(default=None, ge=0, le=1_000_000)
    """Extra requests allowed in a burst above the steady rate; None: the limiter's default."""
    key: Literal["credential", "principal", "ip", "route"] = "credential"
    """What the limit is counted per: credential, principal, trusted client IP, or route."""

    @_field_validator("rate")
    @classmethod
    def _check_rate(cls, value: str) -> str:
        if not _RATE.fullmatch(value.strip()):
            raise ValueError(f"rate {value!r} is not '<requests>/<period>' such as '100/m'")
        return value.strip()

    @property
    def limit(self) -> int:
        """Requests allowed per :attr:`period`."""
        m = _RATE.fullmatch(self.rate)
        assert m is not None  # noqa: S101 - validated in _check_rate
        return int(m["limit"])

    @property
    def period(self) -> int:
        """The period in seconds."""
        m = _RATE.fullmatch(self.rate)
        assert m is not None  # noqa: S101 - validated in _check_rate
        return int(m["count"] or 1) * _UNIT_SECONDS[m["unit"]]


class Route(_Model):
    """One rule: which requests it covers and who may make them."""

    path: str
    """Path pattern: ``/a/b``, ``{name}`` or ``*`` for one segment, a final ``/**`` for the rest."""
    methods: tuple[str, ...] | Literal["*"] = "*"
    """HTTP methods this rule covers (upper-cased), or ``"*"`` for all; GET implies HEAD."""
    name: str | None = Field(default=None, min_length=1, max_length=200)
    """A label for explanations and test reports; defaults to ``"METHODS path"``."""
    anonymous: bool = False
    """Callers without credentials are allowed (then no schemes, scopes or roles may be set)."""
    schemes: tuple[SchemeName, ...] | None = None
    """Schemes the caller must have authenticated with (``Identity.scheme``); None: any."""
    scopes: tuple[str, ...] = ()
    """Scopes required of the caller, combined as ``scopes_mode`` says."""
    scopes_mode: Literal["all", "any"] = "all"
    """``all``: every listed scope is required; ``any``: at least one of them."""
    roles: tuple[str, ...] = ()
    """The caller needs at least one of these roles; empty: no role required."""
    ip_allow: tuple[Annotated[Network, BeforeValidator(_network)], ...] | None = None
    """CIDR networks the trusted client IP must be in (anyone else gets 403); None: any IP."""
    rate_limit: RateLimit | None = None
    """Rate limit of this route (enforced by the rate-limit layer, :mod:`authgate.ratelimit`,
    not by the policy)."""
    rate_limits: tuple[RateLimit, ...] = ()
    """Several rate limits that all apply (e.g. per credential and per IP); not together
    with ``rate_limit``."""

    @property
    def limits(self) -> tuple[RateLimit, ...]:
        """Every rate limit of this route."""
        return (self.rate_limit, *self.rate_limits) if self.rate_limit else self.rate_limits

    @_field_validator("methods", mode="before")
    @classmethod
    def _check_methods(cls, value: Any) -> Any:
        if value == "*":
            return value
        if isinstance(value, str):
            raise ValueError('methods must be a list such as ["GET", "POST"], or "*"')
        if isinstance(value, list | tuple):
            if not value:
                raise ValueError('methods must not be empty (use "*" for every method)')
            out = []
            for m in value:
                if not isinstance(m, str) or not _TOKEN.fullmatch(m) or m == "*":
                    raise ValueError(f"{m!r} is not an HTTP method")
                if m.upper() in out:
                    raise ValueError(f"method {m.upper()} is listed twice")
                out.append(m.upper())
            return tuple(out)
        raise ValueError('methods must be a list such as ["GET", "POST"], or "*"')

    @_field_validator("path")
    @classmethod
    def _check_path(cls, value: str) -> str:
        PathPattern.parse(value)
        return value

    @_field_validator("schemes")
    @classmethod
    def _check_schemes(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("schemes must not be empty (omit it to allow every scheme)")
        if "anonymous" in value:
            raise ValueError("'anonymous' is not an authenticated scheme: set anonymous = true")
        return value

    @_field_validator("scopes")
    @classmethod
    def _check_scopes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for scope in value:
            if not _SCOPE.fullmatch(scope):
                raise ValueError(f"{scope!r} is not a scope token (RFC 6749 §3.3)")
        return value

    @_field_validator("roles")
    @classmethod
    def _check_roles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for role in value:
            if not role.strip() or role != role.strip():
                raise ValueError(f"{role!r} is not a role name")
        return value

    @_field_validator("ip_allow")
    @classmethod
    def _check_ip_allow(cls, value: tuple[Network, ...] | None) -> tuple[Network, ...] | None:
        if value is not None and not value:
            raise ValueError("ip_allow must not be empty (omit it to allow every address)")
        return value

    @model_validator(mode="after")
    def _check_anonymous(self) -> Route:
        if self.anonymous and (self.schemes or self.scopes or self.roles):
            raise ValueError(
                "an anonymous route cannot require schemes, scopes or roles: "
                "anyone may call it, so they would never be checked"
            )
        return self

    @model_validator(mode="after")
    def _check_rate_limits(self) -> Route:
        if self.rate_limit is not None and self.rate_limits:
            raise ValueError("give rate_limit (one) or rate_limits (several), not both")
        return self

    @property
    def label(self) -> str:
        """How decisions and reports name this route."""
        if self.name:
            return self.name
        methods = "*" if self.methods == "*" else ",".join(self.methods)
        return f"{methods} {self.path}"


@dataclass(frozen=True, slots=True)
class CompiledRoute:
    """A route ready for matching.

    Attributes:
        route: the rule as written.
        index: its position in the file (for error messages).
        pattern: the compiled path pattern.
        methods: the methods it covers (GET implying HEAD applied), or None for every method.
    """

    route: Route
    index: int
    pattern: PathPattern
    methods: frozenset[str] | None

    def covers(self, method: str, segments: tuple[str, ...]) -> bool:
        """True when this route applies to ``method`` on the normalised ``segments``."""
        return (self.methods is None or method in self.methods) and self.pattern.matches(segments)


class Policy(_Model):
    """A whole policy file."""

    version: Literal[1] = 1
    """Format version; only 1 exists."""
    default: Literal["deny", "authenticated"] = "deny"
    """When no route matches: ``deny`` (401 without credentials, else 403) or
    ``authenticated`` (any authenticated caller; 401 without credentials)."""
    max_path_length: int = Field(default=DEFAULT_MAX_PATH_LENGTH, ge=16, le=65536)
    """Longest raw request path accepted; longer ones are refused with 400."""
    routes: tuple[Route, ...] = ()
    """The rules; order in the file does not matter (the most specific match wins)."""

    _index: tuple[CompiledRoute, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _compile_routes(self) -> Policy:
        self._index = _compile(self.routes)  # raises on ambiguous routes
        return self

    @property
    def index(self) -> tuple[CompiledRoute, ...]:
        """Compiled routes, most specific first: the first one that covers a request wins."""
        return self._index


def _compile(routes: tuple[Route, ...]) -> tuple[CompiledRoute, ...]:
    patterns = [PathPattern.parse(r.path) for r in routes]
    explicit_head = {
        p.canonical
        for p, r in zip(patterns, routes, strict=True)
        if r.methods != "*" and "HEAD" in r.methods
    }
    compiled: list[CompiledRoute] = []
    for i, (route, pattern) in enumerate(zip(routes, patterns, strict=True)):
        methods: frozenset[str] | None = None
        if route.methods != "*":
            methods = frozenset(route.methods)
            # HEAD is answered by GET handlers in most frameworks (Starlette adds it to
            # every GET route), so a GET rule must cover HEAD or HEAD would bypass it.
            if "GET" in methods and pattern.canonical not in explicit_head:
                methods |= {"HEAD"}
        compiled.append(CompiledRoute(route, i, pattern, methods))
    seen: dict[tuple[str, str | None], CompiledRoute] = {}
    for c in compiled:
        for method in sorted(c.methods) if c.methods is not None else [None]:
            key = (c.pattern.canonical, method)
            other = seen.get(key)
            if other is not None:
                raise ValueError(
                    f"routes[{other.index}] ({other.route.label}) and routes[{c.index}] "
                    f"({c.route.label}) both cover {method or 'every method'} on "
                    f"{c.pattern.canonical}: neither is more specific; merge them"
                )
            seen[key] = c
    compiled.sort(key=lambda c: (c.pattern.specificity, c.methods is not None), reverse=True)
    return tuple(compiled)
