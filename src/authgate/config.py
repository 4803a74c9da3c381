"""Settings: ``authgate.toml`` in ``AUTHGATE_HOME`` plus ``AUTHGATE_*`` environment variables.

Precedence, highest first: values passed in code (CLI flags), environment variables,
the TOML file (``AUTHGATE_CONFIG`` or ``$AUTHGATE_HOME/authgate.toml``), the database URL
recorded in ``$AUTHGATE_HOME/installation.toml`` (:mod:`authgate.installation`), defaults.
Every field is documented in docs/configuration.md.
"""

from __future__ import annotations

import os
from ipaddress import ip_network
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from authgate.tokens.issuers import IssuerConfig

__all__ = ["ALL_SCHEMES", "Settings", "config_path", "home_dir"]

SchemeName = Literal[
    "apikey", "basic", "bearer", "sigv4", "httpsig", "hmac", "oauth1", "mtls", "anonymous"
]
ALL_SCHEMES: tuple[SchemeName, ...] = (
    "apikey",
    "basic",
    "bearer",
    "sigv4",
    "httpsig",
    "hmac",
    "oauth1",
    "mtls",
)


def home_dir() -> Path:
    """The data directory: ``AUTHGATE_HOME``, default ``./.authgate``."""
    return Path(os.environ.get("AUTHGATE_HOME") or ".authgate").expanduser().resolve()


def config_path() -> Path:
    """The TOML file: ``AUTHGATE_CONFIG``, default ``$AUTHGATE_HOME/authgate.toml``."""
    explicit = os.environ.get("AUTHGATE_CONFIG")
    return Path(explicit).expanduser().resolve() if explicit else home_dir() / "authgate.toml"


class _InstallationSource(PydanticBaseSettingsSource):
    """The database URL recorded in ``$AUTHGATE_HOME/installation.toml``, if any."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # pragma: no cover - __call__ answers for all fields

    def __call__(self) -> dict[str, Any]:
        from authgate.installation import read_database_url

        url = read_database_url(home_dir())
        return {"database_url": url} if url else {}


class Settings(BaseSettings):
    """authgate's configuration."""

    model_config = SettingsConfigDict(env_prefix="AUTHGATE_", extra="forbid", frozen=True)

    home: Path = Field(default_factory=home_dir)
    """Data directory: SQLite database, master keys, authgate.toml."""

    database_url: str | None = None
    """SQLAlchemy async URL; default ``sqlite+aiosqlite:///$AUTHGATE_HOME/authgate.db``.
    PostgreSQL: ``postgresql+asyncpg://user@host:5432/db``."""

    redis_url: str | None = None
    """Redis URL for state shared across instances (replay nonces, cache invalidation);
    None keeps everything in memory, for one instance."""

    host: str = "127.0.0.1"
    """Address ``authgate serve`` binds."""

    port: int = Field(default=8000, ge=1, le=65535)
    """Port ``authgate serve`` binds."""

    api_key_header: str = "X-API-Key"
    """Header that carries an API key."""

    api_key_authorization_schemes: list[str] = Field(default_factory=lambda: ["ApiKey", "Bearer"])
    """``Authorization`` schemes that carry an API key (``ApiKey <key>``, ``Bearer <key>``)."""

    api_key_query_param: str = "api_key"
    """Query parameter name for API keys, used only on ``api_key_query_paths``."""

    api_key_query_paths: list[str] = Field(default_factory=list)
    """Exact paths where ``?api_key=`` is accepted; empty (the default) disables it."""

    basic_enabled: bool = True
    """Accept HTTP Basic (``user:password`` and ``key:secret`` of a key pair)."""

    schemes: list[SchemeName] = Field(default_factory=lambda: list(ALL_SCHEMES))
    """Enabled schemes, in chain order (the first whose credentials are present decides).
    ``bearer`` takes effect only when ``issuers`` are configured."""

    issuers: list[IssuerConfig] = Field(default_factory=list)
    """Trusted JWT issuers (``[[issuers]]`` tables; see docs/schemes/bearer-jwt.md)."""

    sigv4_region: str = "us-east-1"
    """Region an AWS SigV4 credential scope must name."""

    sigv4_service: str = "execute-api"
    """Service an AWS SigV4 credential scope must name."""

    signature_window: float = Field(default=300.0, gt=0, le=3600)
    """Seconds a signed request's timestamp may differ from the server clock (SigV4,
    RFC 9421, HMAC-SHA256); nonces are remembered this long."""

    policy_file: Path | None = None
    """Authorization policy (TOML or YAML, docs/policy.md) enforced by ``authgate serve`` on
    every route after authentication; None: the built-in rules of each endpoint only."""

    token_issuer: str | None = None
    """The ``iss`` of authgate's own tokens: its public base URL (e.g.
    ``https://auth.example.com``). Default ``http://{host}:{port}``, right only when
    clients reach authgate at that address."""

    token_audience: str | None = None
    """The ``aud`` of authgate's access tokens; None: the issuer itself."""

    access_token_lifetime: int = Field(default=3600, ge=60, le=86400)
    """Seconds an access token lives (``expires_in`` of ``POST /auth``)."""

    refresh_token_lifetime: str = "30d"  # noqa: S105 - a duration
    """How long an unused refresh token lives (sliding; every use rotates it)."""

    refresh_token_absolute_lifetime: str = "90d"  # noqa: S105 - a duration
    """How long a refresh-token family lives at most, however often it is used."""

    access_token_algorithm: Literal["EdDSA", "ES256", "RS256"] = "EdDSA"  # noqa: S105
    """Signing algorithm of access tokens (EdDSA: ~25 µs to sign; RS256 ~260 µs). RS256
    keys always exist too, for OpenID Connect ID tokens."""

    signing_key_publish_delay: float = Field(default=900.0, ge=60)
    """Seconds a new signing key is published in the JWKS before it signs."""

    jwks_max_age: int = Field(default=300, ge=0)
    """``Cache-Control: max-age`` of ``/.well-known/jwks.json``; below the publish delay."""

    mfa_issuer: str = Field(default="authgate", min_length=1, max_length=64)
    """Issuer name shown in authenticator apps for TOTP enrolments."""

    mtls_header: str = "X-SSL-Client-Cert"
    """Header in which a TLS-terminating proxy passes the client certificate (nginx:
    ``$ssl_client_escaped_cert``); believed only from ``trusted_proxies``."""

    httpsig_require_query_coverage: bool = True
    """RFC 9421 signatures on a request with a query must cover ``@query``,
    ``@target-uri`` or ``@request-target``; off, a signature over the path alone is
    accepted whatever the query (an attacker can then change or add parameters)."""

    oauth1_window: float = Field(default=600.0, gt=0, le=3600)
    """Seconds an OAuth 1.0a ``oauth_timestamp`` may differ from the server clock."""

    credential_cache_ttl: float = Field(default=10.0, ge=0, le=3600)
    """Seconds a verified credential is served from the local cache. Changes made through
    this instance take effect at once; changes made elsewhere within this many seconds."""

    credential_cache_size: int = Field(default=100_000, ge=0)
    """Most verified credentials held in the local cache."""

    change_poll_interval: float = Field(default=0.25, gt=0, le=1.0)
    """Seconds between a server's reads of the revocation feed (the ``changes`` table):
    a key revoked, a user disabled, a client deleted or a token revoked by any process
    (the CLI, another server) is enforced here within about this long; with Redis, at
    once. At most 1 s, the guarantee docs/security.md states."""

    last_used_flush_interval: float = Field(default=30.0, gt=0)
    """Seconds between batched writes of credentials' ``last_used_at``."""

    audit_flush_interval: float = Field(default=1.0, gt=0)
    """Seconds between batched writes of audit events."""

    audit_queue_size: int = Field(default=10_000, ge=100)
    """Audit events held in memory before producers wait (back-pressure, nothing lost)."""

    max_credential_length: int = Field(default=8192, ge=256)
    """Longest ``Authorization``/API-key header value accepted; longer → 413."""

    rate_limit_fail_open: bool = False
    """When the rate limiter's store (Redis) cannot answer: let requests through (counted
    in ``authgate_ratelimit_decisions_total{decision="store_error"}``) instead of refusing
    them with 503 and ``Retry-After``."""

    metrics_networks: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    """Addresses/CIDRs allowed to read ``GET /metrics`` (Prometheus); anyone else gets 404.
    Empty: nobody (the endpoint is off)."""

    trusted_proxies: list[str] = Field(default_factory=list)
    """Addresses/CIDRs whose ``X-Forwarded-*`` headers are believed."""

    argon2_time_cost: int = Field(default=3, ge=2)
    """argon2id iterations (ASVS minimum 2)."""

    argon2_memory_kib: int = Field(default=32 * 1024, ge=19 * 1024)
    """argon2id memory in KiB (ASVS minimum 19 MiB)."""

    key_max_lifetime: str | None = None
    """Longest ``expires_in`` a key may be created with (e.g. ``365d``); None: unlimited."""

    access_log: bool = False
    """uvicorn access log (off by default: it costs throughput on the hot path)."""

    @field_validator("trusted_proxies", "metrics_networks")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ip_network(item, strict=False)
        return value

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.home / 'authgate.db'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=config_path()),
            _InstallationSource(settings_cls),
        )

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Settings from code overrides (None values ignored), env and TOML."""
        return cls(**{k: v for k, v in overrides.items() if v is not None})
