"""Configuration of one trusted JWT issuer (an ``[[issuers]]`` table in ``authgate.toml``).

The policy it carries is the one RFC 8725 (JWT BCP) asks a verifier to pin per issuer:
the exact ``iss`` (RFC 7519 §4.1.1), the accepted audiences (§4.1.3), an explicit
algorithm allow-list (RFC 8725 §3.1; an empty list is refused rather than meaning
"anything", Authlib CVE-2022-39174), the clock leeway (RFC 7519 §4.1.4-§4.1.5), explicit
typing (RFC 8725 §3.11, RFC 9068 §2.1 ``at+jwt``) and the key material: a JWKS URL
(RFC 7517 §5), a static JWK Set, or one PEM public key. Symmetric keys (``HS*``) are
accepted only as a static ``oct`` JWK at least as long as the hash output (RFC 8725 §3.5,
RFC 7518 §3.2).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from authgate.tokens.keys import HMAC_MIN_KEY_BYTES, KeyRing

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "HMAC_ALGORITHMS",
    "HMAC_MIN_KEY_BYTES",
    "SUPPORTED_ALGORITHMS",
    "IssuerConfig",
]

#: Asymmetric JWS algorithms authgate verifies (RFC 7518 §3.3-§3.5, RFC 8037 §3.1, RFC 9864).
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
    | {"ES256", "ES384", "ES512", "EdDSA", "Ed25519"}
)
#: MAC algorithms (RFC 7518 §3.2): only with a static ``oct`` key.
HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
#: Everything an issuer may list in ``algorithms``; ``none`` is never among them.
SUPPORTED_ALGORITHMS = ASYMMETRIC_ALGORITHMS | HMAC_ALGORITHMS


class IssuerConfig(BaseModel):
    """A trusted issuer of JWT access tokens and how its tokens are verified.

    Exactly one key source may be given (``jwks_url``, ``jwks`` or ``public_key_pem``);
    an issuer with none of them must be paired with a ``KeySource`` in code (authgate's
    own issuer, whose keys are local).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: str = Field(min_length=1)
    """The exact ``iss`` value; compared byte for byte, never as a prefix (RFC 7519 §4.1.1)."""

    audiences: tuple[str, ...] = Field(min_length=1)
    """Accepted ``aud`` values; a token must name at least one (RFC 7519 §4.1.3, RFC 9068 §4)."""

    jwks_url: str | None = None
    """HTTPS URL of the issuer's JWK Set (RFC 7517 §5); fetched and cached."""

    jwks: dict[str, Any] | None = None
    """A static JWK Set (``{"keys": [...]}``); the only place an ``oct`` (HMAC) key may appear."""

    public_key_pem: str | None = None
    """One PEM-encoded public key (RSA, EC or Ed25519), used for tokens with any or no ``kid``."""

    algorithms: tuple[str, ...] = ("RS256", "ES256", "EdDSA")
    """Allowed ``alg`` values; each key is further pinned to the algorithms its type supports."""

    leeway: int = Field(default=30, ge=0, le=600)
    """Seconds of clock skew tolerated for ``exp``, ``nbf`` and ``iat``."""

    required_claims: tuple[str, ...] = ("exp", "iat", "iss", "sub")
    """Claims that must be present (and not ``null``)."""

    subject_claim: str = "sub"
    """Claim used as the Identity subject (must be a non-empty string)."""

    roles_claim: str | None = None
    """Claim holding the caller's roles (a list of strings), or None for no roles."""

    require_at_jwt: bool = True
    """Require ``typ`` = ``at+jwt`` (RFC 9068 §2.1). When False, ``JWT`` or no ``typ`` is also
    accepted, but any other explicit type (ID token, refresh token, logout token) and tokens
    carrying ID-token claims (``nonce``, ``at_hash``, ``c_hash``) are still refused."""

    jwks_refresh_interval: float = Field(default=60.0, ge=0)
    """Minimum seconds between JWKS refetches triggered by an unknown ``kid`` or a failed fetch."""

    jwks_default_ttl: float = Field(default=300.0, gt=0)
    """How long a fetched JWKS is fresh when the response has no ``Cache-Control: max-age``."""

    jwks_min_ttl: float = Field(default=60.0, ge=0)
    """Lower bound for the JWKS freshness lifetime (guards against ``max-age=0``)."""

    jwks_max_ttl: float = Field(default=86400.0, gt=0)
    """Upper bound for the JWKS freshness lifetime (guards against a year-long ``max-age``)."""

    principal_format: Literal["issuer_subject", "subject"] = "issuer_subject"
    """``issuer_subject``: ``principal_id`` is ``"<iss>|<sub>"`` (unique across issuers);
    ``subject``: the bare subject."""

    @field_validator("algorithms")
    @classmethod
    def _check_algorithms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            # An empty allow-list must never mean "use the library default" (CVE-2022-39174).
            raise ValueError("algorithms must not be empty")
        unknown = [a for a in value if a not in SUPPORTED_ALGORITHMS]
        if unknown:
            raise ValueError(f"unsupported algorithms: {unknown!r} (never 'none')")
        return tuple(dict.fromkeys(value))

    @field_validator("jwks_url")
    @classmethod
    def _check_jwks_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("jwks_url must be an http(s) URL")
        return value

    @model_validator(mode="after")
    def _check_key_material(self) -> IssuerConfig:
        given = [n for n in ("jwks_url", "jwks", "public_key_pem") if getattr(self, n) is not None]
        if len(given) > 1:
            raise ValueError(f"give at most one of jwks_url, jwks, public_key_pem (got {given})")
        hmac_algs = HMAC_ALGORITHMS.intersection(self.algorithms)
        if hmac_algs and self.jwks is None:
            raise ValueError("HS* algorithms need a static 'jwks' with an 'oct' key")
        if self.jwks_min_ttl > self.jwks_max_ttl:
            raise ValueError("jwks_min_ttl must not exceed jwks_max_ttl")
        if self.jwks is not None or self.public_key_pem is not None:
            # Import now so a weak or malformed key fails at start-up, not per request.
            KeyRing.from_config(self)
        return self

    @property
    def allowed_algorithms(self) -> frozenset[str]:
        """The allow-list as a set."""
        return frozenset(self.algorithms)
