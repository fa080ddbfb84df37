"""Assembling ``cway-mcp serve``: one runtime per process, one Starlette app, the SDK doing the protocol.

The MCP endpoint is the SDK's Streamable HTTP app in stateless mode (any replica answers any
request: no session lives in a process), guarded by the SDK's bearer middleware with this
server's own provider (:mod:`cway_remote.provider`). The SDK also serves the authorization-server
metadata, Protected Resource Metadata (RFC 9728) and the ``WWW-Authenticate`` challenge. Added
here: the consent page and the Entra callback, ``/healthz`` (the process answers) and
``/readyz`` (the database answers and its schema is this release's).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

import asyncpg
import httpx
from mcp.server.auth.handlers.metadata import MetadataHandler
from mcp.server.auth.routes import build_metadata, build_resource_metadata_url, cors_middleware
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cway_auth_core import KeyMaterial, build_http_client, resolve_store_key
from cway_contract import SYSTEM_CLOCK, Clock, __version__, is_loopback_host
from cway_remote import db
from cway_remote.audit import AuditSink, JsonAudit
from cway_remote.availability import AvailabilityMiddleware
from cway_remote.consent import ConsentRoutes
from cway_remote.consents import ConsentDb
from cway_remote.exchange import CwayExchange
from cway_remote.gateway import RemoteGateway, register_whoami
from cway_remote.iss import IssOnAuthorize
from cway_remote.metrics import HttpMetricsMiddleware, RemoteMetrics
from cway_remote.oauth_db import OAuthDb
from cway_remote.pg_store import PgTokenStore
from cway_remote.provider import SCOPE, SCOPES, CwayOAuthProvider
from cway_remote.ratelimit_middleware import RateLimiter, RateLimitMiddleware
from cway_remote.read_cache import ChangeListener, ReadCache
from cway_remote.refresh import RemoteRefresher, refresh_due_at
from cway_remote.settings import CALLBACK_PATH, MCP_PATH, RemoteSettings
from cway_remote.step_up import StepUpMiddleware
from cway_remote.tracing import Tracing, start_tracing
from cway_tools import KEEPALIVE_EXPIRY_SECONDS, SERVER_ICONS, ToolSelection, register_cway_tools
from cway_tools import install as install_middleware

log = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 600.0

INSTRUCTIONS = """\
Tools for Cway, the artwork and packaging approval platform: projects, artworks to approve or \
upload, media center folders and files, shares, users and statistics.

Every call acts as the Cway user who connected this server (signed in with their organisation's \
account); leave `username` out. Errors are short and say what to do next; relay them rather than \
retrying blindly.
"""


@dataclass
class RemoteRuntime:
    """What one replica owns: the pool, the HTTP client, the store, the OAuth provider, the refresher."""

    settings: RemoteSettings
    clock: Clock
    pool: asyncpg.Pool
    http: httpx.AsyncClient
    keys: KeyMaterial
    store: PgTokenStore
    oauth: OAuthDb
    exchange: CwayExchange
    refresher: RemoteRefresher
    provider: CwayOAuthProvider
    audit: AuditSink
    replica: str
    metrics: RemoteMetrics
    listener: ChangeListener
    closing: list[RemoteGateway] = field(default_factory=list)
    #: set at SIGTERM: /readyz answers 503 so the balancer stops sending, while requests are still served
    draining: bool = False
    tracing: Tracing | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def create(
        cls, settings: RemoteSettings, *, clock: Clock = SYSTEM_CLOCK, pool_size: int = 10
    ) -> RemoteRuntime:
        base = settings.base
        keys = resolve_store_key(base.state_dir, base.store_key.get_secret_value() if base.store_key else None)
        replica = f"{socket.gethostname()}:{os.getpid()}"
        tracing = start_tracing(replica)  # before the pool: asyncpg's connections are traced from the first
        pool = await db.create_pool(settings.database_url, max_size=pool_size)
        try:
            await db.migrate(pool)
        except BaseException:
            await pool.close()
            raise
        metrics = RemoteMetrics()
        audit = metrics.audit(JsonAudit(clock, replica))
        threshold = base.refresh_threshold_seconds
        token_cache: ReadCache[object] = ReadCache()
        account_cache: ReadCache[object] = ReadCache()
        listener = ChangeListener(settings.database_url, tokens=token_cache, accounts=account_cache)
        store = PgTokenStore(
            pool,
            keys,
            clock,
            due_at=lambda r: refresh_due_at(r, timedelta(seconds=threshold)),
            on_event=None,
            cache=account_cache,
        )
        oauth = OAuthDb(pool, keys)
        http = build_http_client(base)
        metrics.observe_client(http, upstream_namer(base.cway_api_url, base.cway_token_url))
        if tracing is not None:
            tracing.instrument_client(http)
        exchange = CwayExchange(base, http, clock)
        provider = CwayOAuthProvider(
            settings=settings, db=oauth, store=store, clock=clock, audit=audit, http=http, cache=token_cache
        )
        refresher = RemoteRefresher(
            store=store,
            exchange=exchange,
            clock=clock,
            threshold_seconds=threshold,
            audit=audit,
            on_dropped=provider.revoke_account,
        )
        runtime = cls(
            settings,
            clock,
            pool,
            http,
            keys,
            store,
            oauth,
            exchange,
            refresher,
            provider,
            audit,
            replica,
            metrics,
            listener,
        )
        runtime.tracing = tracing
        metrics.watch_pool(pool, lambda: runtime.draining)
        metrics.watch_caches({"tokens": token_cache, "accounts": account_cache})
        return runtime

    async def schema_version(self) -> int | None:
        async with self.pool.acquire() as conn:
            return await db.schema_version(conn)

    def start_background(self, schedule_interval: float) -> None:
        self._tasks.append(asyncio.create_task(self.listener.run(self._stop)))
        self._tasks.append(asyncio.create_task(self.refresher.run_schedule(self._stop, schedule_interval)))
        self._tasks.append(asyncio.create_task(self._housekeeping()))

    async def _housekeeping(self, interval: float = HOUSEKEEPING_SECONDS) -> None:
        """Expired tokens, codes and abandoned authorizations go (any replica may do it; it is idempotent)."""
        while not self._stop.is_set():
            try:
                await self.oauth.purge_expired(self.clock.now())
            except Exception:
                log.exception("housekeeping failed; trying again later")
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=interval)
            except TimeoutError:
                pass

    async def aclose(self) -> None:
        self._stop.set()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, timeout=10)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
        for gateway in self.closing:
            await gateway.aclose()
        await self.listener.aclose()
        await self.http.aclose()
        await self.pool.close()
        if self.tracing is not None:
            self.tracing.shutdown()


def build_server(runtime: RemoteRuntime) -> MCPServer:
    settings = runtime.settings
    auth = AuthSettings(
        issuer_url=settings.public_url,  # type: ignore[arg-type]
        resource_server_url=settings.resource_url,  # type: ignore[arg-type]
        required_scopes=[SCOPE],
        validate_token_resource=True,
        client_registration_options=ClientRegistrationOptions(
            enabled=True, valid_scopes=list(SCOPES), default_scopes=[SCOPE]
        ),
        revocation_options=RevocationOptions(enabled=True),
    )
    server: MCPServer = MCPServer(
        name="cway",
        title="Cway",
        version=__version__,
        instructions=INSTRUCTIONS,
        icons=SERVER_ICONS,
        auth_server_provider=runtime.provider,
        auth=auth,
        log_level=settings.base.log_level,  # type: ignore[arg-type]
        # Stateless JSON: no session to hold a subscriptions/listen stream or a Cway subscription for,
        # so no follows (resources.subscribe is not declared) and no list-changed streams.
        subscriptions=False,
    )
    client = cway_client(settings, runtime.metrics)
    if runtime.tracing is not None:
        runtime.tracing.instrument_client(client)
    gateway = RemoteGateway(settings.base, runtime.refresher, http=client)
    runtime.closing.append(gateway)
    # Stateless HTTP: an enable_toolset could not outlive its request, so CWAY_TOOLSETS fixes the list
    # (docs/mcp.md#toolsets) and enable_toolset says which toolsets this server has.
    register_cway_tools(server, gateway, ToolSelection.from_settings(settings.base, dynamic=False))
    register_whoami(server, runtime.store)
    install_middleware(server)  # the shim's strict arguments and logging/setLevel; after every tool
    runtime.metrics.tool_names_from(server.list_tools)
    server.middleware.insert(0, runtime.metrics.tool_middleware)
    consent = ConsentRoutes(
        settings=settings,
        db=runtime.oauth,
        consents=ConsentDb(runtime.pool),
        store=runtime.store,
        provider=runtime.provider,
        exchange=runtime.exchange,
        clock=runtime.clock,
        audit=runtime.audit,
    )
    server.custom_route("/consent", methods=["GET", "POST"])(consent.consent)
    server.custom_route(CALLBACK_PATH, methods=["GET"])(consent.callback)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__, "replica": runtime.replica})

    async def readyz(_: Request) -> Response:
        if runtime.draining:
            return JSONResponse({"status": "draining"}, status_code=503)
        try:
            async with runtime.pool.acquire() as conn:
                version = await asyncio.wait_for(db.schema_version(conn), timeout=5)
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "database": type(exc).__name__}, status_code=503)
        if version != db.CURRENT_VERSION:
            return JSONResponse({"status": "unavailable", "schema_version": version}, status_code=503)
        return JSONResponse({"status": "ready", "schema_version": version, "refreshes": runtime.refresher.refreshes})

    server.custom_route("/healthz", methods=["GET"])(healthz)
    server.custom_route("/readyz", methods=["GET"])(readyz)
    server.custom_route("/metrics", methods=["GET"])(runtime.metrics.endpoint)
    return server


def upstream_namer(api_url: str, token_url: str) -> Callable[[httpx.URL], str]:
    """``cway`` for Cway's GraphQL and token endpoints, ``idp`` for anything else (Entra): a label, never a URL."""
    cway_hosts = {urlsplit(api_url).netloc, urlsplit(token_url).netloc}

    def name(url: httpx.URL) -> str:
        return "cway" if url.netloc.decode("ascii", "replace") in cway_hosts else "idp"

    return name


def cway_client(settings: RemoteSettings, metrics: RemoteMetrics) -> httpx.AsyncClient:
    """The tools' client for Cway's GraphQL: what the shim's gateway builds, plus the metrics hook, and a
    keep-alive pool sized for many concurrent users (each tool call is one POST to the same host)."""
    base = settings.base
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(base.http_timeout_seconds),
        headers={"User-Agent": f"cway-mcp/{__version__}", "Accept": "application/json"},
        follow_redirects=False,  # a redirect would carry the bearer somewhere we did not choose
        limits=httpx.Limits(
            max_connections=100, max_keepalive_connections=64, keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS
        ),
    )
    metrics.observe_client(client, lambda _url: "cway")
    return client


def build_app(runtime: RemoteRuntime) -> Starlette:
    server = build_server(runtime)
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        transport_security=transport_security(runtime.settings),
    )
    # The SDK's metadata does not advertise Client ID Metadata Documents; this server accepts them
    # (cimd.py), so its route is served first with the flag set.
    app.router.routes.insert(0, metadata_route(server))
    app.add_middleware(IssOnAuthorize, issuer=runtime.settings.public_url)
    write_tools: list[frozenset[str]] = []

    async def writes() -> frozenset[str]:
        """The tools that change Cway (no readOnlyHint), from the server's own listing, once."""
        if not write_tools:
            listed = await server.list_tools()
            write_tools.append(
                frozenset(t.name for t in listed if not (t.annotations and t.annotations.read_only_hint))
            )
        return write_tools[0]

    app.add_middleware(
        StepUpMiddleware,
        path=MCP_PATH,
        provider=runtime.provider,
        write_tools=writes,
        resource_metadata_url=str(build_resource_metadata_url(runtime.settings.resource_url)),  # type: ignore[arg-type]
    )
    # Outside the handlers, so a refused request costs nothing (see ratelimit_middleware.py).
    app.add_middleware(
        RateLimitMiddleware, limiter=RateLimiter(runtime.settings.rate_limits, runtime.clock, runtime.audit)
    )
    app.add_middleware(
        AvailabilityMiddleware, draining=lambda: runtime.draining, on_unavailable=runtime.metrics.unavailable.inc
    )
    if runtime.tracing is not None:
        app.add_middleware(runtime.tracing.middleware)
    app.add_middleware(HttpMetricsMiddleware, metrics=runtime.metrics)  # outermost: counts refusals too
    return app


def metadata_route(server: MCPServer) -> Route:
    auth = server.settings.auth
    assert auth is not None
    metadata = build_metadata(
        auth.issuer_url,
        auth.service_documentation_url,
        auth.client_registration_options or ClientRegistrationOptions(),
        auth.revocation_options or RevocationOptions(),
    )
    metadata.client_id_metadata_document_supported = True
    metadata.authorization_response_iss_parameter_supported = True  # RFC 9207, see iss.py
    return Route(
        "/.well-known/oauth-authorization-server",
        endpoint=cors_middleware(MetadataHandler(metadata).handle, ["GET", "OPTIONS"]),
        methods=["GET", "OPTIONS"],
    )


def transport_security(settings: RemoteSettings) -> TransportSecuritySettings:
    """The MCP endpoint answers only for this server's public host, and refuses a browser page from
    another origin (DNS rebinding, cross-site requests) with 403; a request without ``Origin``
    (every non-browser client) passes. On a loopback public URL any loopback port is accepted, so
    replicas on one machine can be reached directly."""
    parts = urlsplit(settings.public_url)
    hosts, origins = [parts.netloc], [settings.public_url]
    if is_loopback_host(parts.hostname or ""):
        hosts += ["127.0.0.1:*", "localhost:*", "[::1]:*"]
        origins += ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)
