"""Everything a running authgate needs, built once from Settings and closed at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Generator
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

from authgate.accounts.keys import KeyService
from authgate.accounts.pki import PkiResolver, PkiService
from authgate.accounts.resolver import SigV4Credentials, StoreResolver, UsageRecorder
from authgate.accounts.users import UserService
from authgate.audit import BatchedAuditSink, DatabaseAuditWriter
from authgate.audit.sinks import AuditSink
from authgate.cache.change_feed import ChangeFeed
from authgate.cache.notices import CacheNotices
from authgate.cache.revocations import revocation_handler
from authgate.config import Settings
from authgate.crypto.passwords import PasswordHasher
from authgate.durations import parse_duration
from authgate.home import ServerSecrets, ensure_home, load_secrets
from authgate.identity import Identity
from authgate.kv.memory import MemoryStore
from authgate.metrics import AuthgateMetrics
from authgate.mfa import LoginThrottle, MemoryThrottleStore, MfaService
from authgate.mfa.lockouts import LockoutAuditor
from authgate.mfa.throttle import ThrottleStore
from authgate.oauth.clients import ClientCache, ClientService
from authgate.oauth.login import LoginSessions, PasswordLogin
from authgate.oauth.server import OAuthServer
from authgate.ratelimit import RateLimiter
from authgate.replay import MemoryReplayCache, ReplayCache
from authgate.scheme_factories import (
    SchemeRegistry,
    SchemeServices,
    build_chain_schemes,
    client_certificates,
    scheme_factories,
)
from authgate.schemes.base import Authenticator
from authgate.schemes.bearer import BearerJWTAuthenticator
from authgate.schemes.chain import SchemeChain
from authgate.schemes.fastpath import VerifiedIdentityCache
from authgate.schemes.own_tokens import OwnTokenAuthenticator
from authgate.scopes import ADMIN_SCOPE
from authgate.store.db import Database
from authgate.store.migrate import upgrade
from authgate.tokens.changes import ChangeLog
from authgate.tokens.changes import purge as purge_changes
from authgate.tokens.services import TokenConfig, TokenServices

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from authgate.cache.redis_bus import Kind, RedisInvalidationBus

__all__ = ["LOCAL_ADMIN", "Runtime", "RuntimeOpening", "build_schemes"]

log = logging.getLogger("authgate")

# The operator at the machine (CLI): acts with admin rights on the local data directory.
LOCAL_ADMIN = Identity(
    subject="local-admin",
    principal_id="local",
    scheme="local",
    scopes=(ADMIN_SCOPE,),
    roles=("admin",),
)


def build_schemes(
    services: SchemeServices, factories: SchemeRegistry | None = None
) -> list[Authenticator]:
    """The schemes of ``services.settings.schemes`` in chain order, each built by its
    factory in ``factories`` (default: :func:`~authgate.scheme_factories.scheme_factories`).

    Raises:
        LookupError: a scheme name no factory is registered for.
    """
    if factories is None:
        factories = scheme_factories()
    return build_chain_schemes(services.settings.schemes, services, factories)


def token_config(settings: Settings) -> TokenConfig:
    """authgate's own token settings."""
    return TokenConfig(
        # One spelling everywhere (metadata, RFC 9207 iss, token iss): no trailing slash.
        issuer=(settings.token_issuer or f"http://{settings.host}:{settings.port}").rstrip("/"),
        audience=settings.token_audience,
        access_token_lifetime=settings.access_token_lifetime,
        refresh_token_lifetime=int(parse_duration(settings.refresh_token_lifetime).total_seconds()),
        refresh_token_absolute_lifetime=int(
            parse_duration(settings.refresh_token_absolute_lifetime).total_seconds()
        ),
        access_token_algorithm=settings.access_token_algorithm,
        publish_delay=settings.signing_key_publish_delay,
        jwks_max_age=settings.jwks_max_age,
    )


async def _change_feed(
    settings: Settings,
    db: Database,
    tokens: TokenServices,
    resolver: StoreResolver,
    bus: RedisInvalidationBus | None,
) -> ChangeFeed:
    """The revocation feed, loaded: this process applies its own changes at once, wakes
    the other servers over Redis, and follows everyone's changes (docs/security.md)."""
    apply = revocation_handler(
        tokens.holders,
        tokens.revocation,
        credential_changed=resolver.invalidate_credential,
        principal_changed=resolver.invalidate_principal,
        everything_changed=resolver.invalidate_all,
    )
    tokens.changes.on_committed.append(apply)
    if bus is not None:
        tokens.changes.on_committed.append(lambda _change: bus.notify("change", ""))
    feed = ChangeFeed(db, apply, interval=settings.change_poll_interval)
    await feed.load()
    return feed


@dataclass
class Runtime:
    settings: Settings
    db: Database
    hasher: PasswordHasher
    audit: AuditSink
    usage: UsageRecorder
    resolver: StoreResolver
    users: UserService
    keys: KeyService
    chain: SchemeChain
    verified: VerifiedIdentityCache
    pki: PkiService
    pki_resolver: PkiResolver
    mfa: MfaService
    tokens: TokenServices
    oauth: OAuthServer
    login_sessions: LoginSessions
    password_login: PasswordLogin
    redis: Redis | None = None
    bus: RedisInvalidationBus | None = None
    feed: ChangeFeed | None = None
    notices: CacheNotices | None = None
    limiter: RateLimiter | None = None
    metrics: AuthgateMetrics = field(default_factory=AuthgateMetrics)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _started: set[str] = field(default_factory=set)

    @classmethod
    def open(cls, settings: Settings, *, batched_audit: bool = True) -> RuntimeOpening:
        """Open the store: ``runtime = await Runtime.open(settings)`` (then ``await
        runtime.close()``) or ``async with Runtime.open(settings) as runtime:``.

        Creates the data directory if needed, migrates the database, wires the services
        and starts the audit writer and the ``last_used_at`` flusher (:meth:`start_writers`);
        :meth:`close` flushes both.
        """
        return RuntimeOpening(cls, settings, batched_audit)

    @classmethod
    async def _open(cls, settings: Settings, *, batched_audit: bool = True) -> Runtime:
        """Create the data directory if needed, migrate the database, wire the services."""
        ensure_home(settings.home)
        secrets = load_secrets(settings.home)
        db = Database(settings.effective_database_url)
        try:
            return await cls._wire(settings, secrets, db, batched_audit=batched_audit)
        except BaseException:
            await db.dispose()  # no engine (nor aiosqlite thread) outlives a failed open
            raise

    @classmethod
    async def _wire(
        cls, settings: Settings, secrets: ServerSecrets, db: Database, *, batched_audit: bool
    ) -> Runtime:
        """Migrate the database and wire the services over it."""
        await upgrade(db)
        hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib
        )
        writer = DatabaseAuditWriter(db)
        audit: AuditSink = (
            BatchedAuditSink(
                writer, max_queue=settings.audit_queue_size, interval=settings.audit_flush_interval
            )
            if batched_audit
            else writer
        )
        usage = UsageRecorder(db)
        resolver = StoreResolver(
            db,
            secrets.digester,
            secrets.master_keys,
            hasher,
            usage,
            ttl=settings.credential_cache_ttl,
            max_entries=settings.credential_cache_size,
        )
        redis: Redis | None = None
        bus: RedisInvalidationBus | None = None
        replay: ReplayCache = MemoryReplayCache()
        if settings.redis_url:
            # The redis extra is imported only when Redis is configured: the base install
            # runs without it.
            from authgate.cache.redis_bus import RedisInvalidationBus
            from authgate.cache.redis_client import open_redis
            from authgate.cache.redis_replay import RedisReplayCache

            redis = open_redis(settings.redis_url)
            bus = RedisInvalidationBus(redis)
            replay = RedisReplayCache(redis)

        def throttle_store(name: str) -> ThrottleStore:
            # shared by every instance through Redis; separate budgets per throttle
            if redis is not None:
                from authgate.cache.redis_throttle import RedisThrottleStore

                return RedisThrottleStore(redis, prefix=f"authgate:throttle:{name}:")
            return MemoryThrottleStore(time.time)

        # what this process changed: dropped here at once, on the other processes over
        # Redis at once and through the changes table within change_poll_interval
        notices = CacheNotices(db)

        def principal_changed(principal_id: str) -> None:
            resolver.invalidate_principal(principal_id)
            notices.notify("principal", principal_id)
            if bus is not None:
                bus.notify("principal", principal_id)

        def credential_changed(credential_id: str) -> None:
            resolver.invalidate_credential(credential_id)
            notices.notify("credential", credential_id)
            if bus is not None:
                bus.notify("credential", credential_id)

        changes = ChangeLog()  # the revocation log (authgate.tokens.changes)
        users = UserService(
            db, hasher, audit, on_principal_changed=principal_changed, changes=changes
        )
        keys = KeyService(
            db,
            secrets.digester,
            secrets.master_keys,
            users,
            audit,
            max_lifetime=parse_duration(settings.key_max_lifetime)
            if settings.key_max_lifetime
            else None,
            on_credential_changed=credential_changed,
            changes=changes,
        )
        pki_resolver = PkiResolver(
            db, ttl=settings.credential_cache_ttl, max_entries=settings.credential_cache_size
        )

        def pki_changed() -> None:
            pki_resolver.invalidate()
            notices.notify("all")
            if bus is not None:  # other instances drop their cached keys/certificates too
                bus.notify("all", "")

        pki = PkiService(db, users, audit, on_changed=pki_changed)
        resolver.on_invalidate(pki_resolver.invalidate)  # a disabled user drops keys/certs too
        tokens = await TokenServices.open(
            token_config(settings),
            db=db,
            digester=secrets.digester,
            master_keys=secrets.master_keys,
            resolver=resolver,
            redis=redis,
            changes=changes,
        )
        login_sessions = LoginSessions(db, secrets.digester)

        async def user_disabled(user_id: str) -> None:
            await tokens.refresh.revoke_user(user_id)  # their tokens die with the user
            await login_sessions.revoke_user(user_id)  # and their browser sessions
            for client_id in await clients.owned_by(user_id):  # and their clients' families
                await tokens.refresh.revoke_client(client_id)

        keys.after_revoke = tokens.refresh.revoke_credential  # its tokens die with the key
        users.after_disable = user_disabled
        users.after_password_change = login_sessions.revoke_user  # a stolen session dies too
        sigv4 = SigV4Credentials(resolver, keys.session_token)
        # Password failures are counted together whether they come over Basic or the form.
        login_throttle = LoginThrottle(
            throttle_store("login"),
            time.time,
            on_refused=LockoutAuditor(audit, "login", time.time),
        )
        schemes = build_schemes(
            SchemeServices(settings, resolver, replay, sigv4, pki_resolver, tokens, login_throttle)
        )
        # /oauth/token, /introspect, /revoke, /device_authorization authenticate clients
        # themselves: the server sends them past the chain (authgate.server.oauth_asgi)
        chain = SchemeChain(schemes, extra_credential_headers=[settings.api_key_header])
        verified = VerifiedIdentityCache(
            ttl=settings.credential_cache_ttl,
            max_entries=settings.credential_cache_size,
        )
        resolver.on_invalidate(verified.clear)
        client_cache = ClientCache(
            ttl=settings.credential_cache_ttl, max_entries=settings.credential_cache_size
        )
        resolver.on_invalidate(client_cache.clear)  # a remote change may concern a client
        clients = ClientService(
            db,
            secrets.digester,
            users,
            audit,
            cache=client_cache,
            on_changed=credential_changed,
            changes=changes,
        )
        feed = await _change_feed(settings, db, tokens, resolver, bus)
        oauth = OAuthServer(
            clients,
            tokens,
            replay,
            db,
            secrets.digester,
            certificates=client_certificates(settings),
            audit=audit,
        )
        mfa = MfaService(
            db,
            secrets.master_keys,
            secrets.digester,
            audit,
            LoginThrottle(
                throttle_store("mfa"),
                time.time,
                on_refused=LockoutAuditor(audit, "mfa", time.time),
            ),
            time.time,
            issuer=settings.mfa_issuer,
            on_principal_changed=principal_changed,
        )
        password_login = PasswordLogin(resolver, mfa, login_throttle)
        # changing one's own password checks the current one as a login (throttle, hashing
        # bound, second factor): never a side door for password guesses
        users.current_password_check = password_login
        return cls(
            settings,
            db,
            hasher,
            audit,
            usage,
            resolver,
            users,
            keys,
            chain,
            verified,
            pki,
            pki_resolver,
            mfa,
            tokens,
            oauth,
            login_sessions,
            password_login,
            redis,
            bus,
            feed,
            notices,
            limiter=_rate_limiter(redis),
            metrics=AuthgateMetrics(
                audit_queue_depth=lambda: audit.depth if isinstance(audit, BatchedAuditSink) else 0
            ),
        )

    def _on_remote_change(self, kind: Kind, ident: str) -> None:
        """Another instance changed a credential or principal: drop what we cached of it."""
        if self.feed is not None:
            self.feed.wake()  # read the revocation log now
        if kind == "change":
            return
        if kind == "credential":
            self.resolver.invalidate_credential(ident)
        elif kind == "principal":
            self.resolver.invalidate_principal(ident)
        else:  # "all": after a reconnect we may have missed messages
            self.resolver.invalidate_all()

    def _start(self, name: str, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        if name not in self._started:  # every start is idempotent
            self._started.add(name)
            self._tasks.append(asyncio.create_task(work(), name=name))

    def start_writers(self) -> None:
        """Start the audit writer, the ``last_used_at`` flusher and the change feed (idempotent).

        :meth:`open` calls it: without them audit events and last-used times would only
        be queued. :meth:`close` stops them and writes what they hold.
        """
        if isinstance(self.audit, BatchedAuditSink):
            self.audit.start()
        self._start("authgate-last-used", self._flush_usage)
        if self.feed is not None:  # changes made by other processes (CLI, instances)
            feed = self.feed
            self._start("authgate-changes", feed.run)

    def start_background(self) -> None:
        """Also start the invalidation listener and the hourly purge (idempotent; server)."""
        self.start_writers()
        if self.bus is not None:
            bus = self.bus
            self._start("authgate-bus", lambda: bus.run(self._on_remote_change))
        self._start("authgate-purge", self._purge)

    async def _purge(self) -> None:
        """Delete expired authorization codes, login sessions and device codes, hourly."""
        while True:
            try:
                await self.oauth.purge_expired()
                await self.login_sessions.purge_expired()
                await purge_changes(self.db, now=time.time())
                self.tokens.holders.prune()
            except Exception:  # keep going: the next round catches up
                log.exception("purging expired OAuth rows failed")
            await asyncio.sleep(3600)

    async def _flush_usage(self) -> None:
        while True:
            await asyncio.sleep(self.settings.last_used_flush_interval)
            try:
                await self.usage.flush()
            except Exception:  # keep going: the next flush carries the same data
                log.exception("writing last_used_at failed")

    async def close(self) -> None:
        if self.notices is not None:
            await self.notices.flush()  # the other processes hear of our last changes
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._started.clear()
        with contextlib.suppress(Exception):
            await self.usage.flush()
        for scheme in self.chain.schemes:
            if isinstance(scheme, BearerJWTAuthenticator | OwnTokenAuthenticator):
                await scheme.aclose()
        if self.bus is not None:
            await self.bus.close()  # also sends what the CLI's changes published
        if self.redis is not None:
            await self.redis.aclose()
        if isinstance(self.audit, BatchedAuditSink):
            await self.audit.close()
        await self.db.dispose()


def _rate_limiter(redis: Redis | None) -> RateLimiter:
    """Limits shared by every instance through Redis, else counted in this process."""
    if redis is None:
        return RateLimiter(MemoryStore(time.time))
    from authgate.kv.redis_store import RedisStore  # the redis extra, only when configured

    return RateLimiter(RedisStore(redis, prefix="authgate:ratelimit:", name="rate limiter"))


class RuntimeOpening:
    """What :meth:`Runtime.open` returns: await it, or use it as ``async with``."""

    def __init__(self, cls: type[Runtime], settings: Settings, batched_audit: bool) -> None:
        self._cls = cls
        self._settings = settings
        self._batched_audit = batched_audit
        self._runtime: Runtime | None = None

    async def _open(self) -> Runtime:
        runtime = await self._cls._open(self._settings, batched_audit=self._batched_audit)
        runtime.start_writers()
        return runtime

    def __await__(self) -> Generator[Any, None, Runtime]:
        return self._open().__await__()

    async def __aenter__(self) -> Runtime:
        self._runtime = await self._open()
        return self._runtime

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runtime is not None:
            runtime, self._runtime = self._runtime, None
            await runtime.close()
