"""Prometheus metrics of one replica, served at ``/metrics``.

Why a registry per runtime (not prometheus_client's global one): tests run several replicas'
apps in one process, and a metric must count only its own replica's work.

What may become a label is decided here, from closed sets only: a route is one of the server's
own paths (anything else is ``other``), a tool one of the registered tool names (anything else is
``unknown``), an audit event one of the names this code emits, an outcome one of a few words. No
label ever holds a value a caller chose: no token, client id, e-mail or account name can reach a
time series, and nobody can grow the series count by sending odd paths.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import asyncpg
import httpx
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.types import CallToolResult
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cway_remote.audit import AuditSink
from cway_remote.read_cache import ReadCache
from cway_remote.settings import CALLBACK_PATH, MCP_PATH

ROUTES = frozenset(
    {
        MCP_PATH,
        CALLBACK_PATH,
        "/authorize",
        "/token",
        "/register",
        "/revoke",
        "/consent",
        "/healthz",
        "/readyz",
        "/metrics",
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource" + MCP_PATH,
    }
)

#: Audit events that are counted by name (the server's own vocabulary); others count as ``other``.
AUDIT_EVENTS = frozenset(
    {
        "sign_in_completed",
        "sign_in_failed",
        "consent",
        "client_registered",
        "client_denied",
        "client_metadata_fetched",
        "client_metadata_refused",
        "token_issued",
        "token_revoked",
        "tokens_revoked",
        "token_reuse_detected",
        "refreshed",
        "refresh_failed",
        "rate_limited",
        "admin_revoked",
        "admin_denied",
        "admin_allowed",
    }
)
SIGN_IN_FAILURES = frozenset({"other_browser", "idp_error", "backend"})
REFRESH_FAILURES = frozenset({"fatal", "transient"})
RATE_LIMITED_ENDPOINTS = frozenset({"register", "authorize", "consent", "token"})

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def route_of(path: str) -> str:
    return path if path in ROUTES else "other"


class RemoteMetrics:
    """Every metric of one replica, and the hooks that feed them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "cway_mcp_http_requests", "HTTP requests answered, by route, method and status.",
            ["route", "method", "status"], registry=r,
        )  # fmt: skip
        self.request_seconds = Histogram(
            "cway_mcp_http_request_duration_seconds", "Time to the end of the response, by route.",
            ["route"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.tool_calls = Counter(
            "cway_mcp_tool_calls", "MCP tool calls, by tool and outcome (ok, error, exception).",
            ["tool", "outcome"], registry=r,
        )  # fmt: skip
        self.tool_seconds = Histogram(
            "cway_mcp_tool_call_duration_seconds", "Tool call duration, by tool.",
            ["tool"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.sign_ins = Counter(
            "cway_mcp_sign_ins", "Completed and failed sign-ins (outcome: completed, other_browser, idp_error, "
            "backend).", ["outcome"], registry=r,
        )  # fmt: skip
        self.refreshes = Counter(
            "cway_mcp_refreshes", "Cway token refreshes by outcome (ok, fatal, transient).",
            ["outcome"], registry=r,
        )  # fmt: skip
        self.upstream = Counter(
            "cway_mcp_upstream_responses", "Responses from Cway and the identity provider, by upstream and "
            "HTTP status (transport_error when none came).", ["upstream", "status"], registry=r,
        )  # fmt: skip
        self.rate_limited = Counter(
            "cway_mcp_rate_limited", "Rate-limit refusal episodes, by endpoint.",
            ["endpoint"], registry=r,
        )  # fmt: skip
        self.audit_events = Counter(
            "cway_mcp_audit_events", "Audit events written, by event.",
            ["event"], registry=r,
        )  # fmt: skip
        self.unavailable = Counter(
            "cway_mcp_database_unavailable", "Requests answered 503 because PostgreSQL could not be used.",
            registry=r,
        )  # fmt: skip
        self._tools: frozenset[str] = frozenset()
        self._list_tools: Callable[[], Awaitable[Sequence[Any]]] | None = None
        self._tools_read_at = -1e9

    # --- exposition ---------------------------------------------------------------------------

    async def endpoint(self, _: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

    def watch_pool(self, pool: asyncpg.Pool, draining: Callable[[], bool]) -> None:
        self.registry.register(_PoolCollector(pool, draining))

    def watch_caches(self, caches: dict[str, ReadCache[object]]) -> None:
        self.registry.register(_CacheCollector(caches))

    # --- feeding ------------------------------------------------------------------------------

    def tool_names_from(self, list_tools: Callable[[], Awaitable[Sequence[Any]]]) -> None:
        """Where the registered tools' names come from (``MCPServer.list_tools``); read when a name is new,
        at most once a minute, so the set follows tools enabled at run time without letting a caller's
        made-up names become series."""
        self._list_tools = list_tools

    async def _tool_label(self, name: str) -> str:
        if name in self._tools:
            return name
        now = time.monotonic()
        if self._list_tools is not None and now - self._tools_read_at > 60:
            self._tools_read_at = now
            self._tools = frozenset(str(tool.name) for tool in await self._list_tools())
        return name if name in self._tools else "unknown"

    def audit(self, sink: AuditSink) -> AuditSink:
        """``sink`` with every event also counted (sign-ins, refresh outcomes, rate limits)."""
        return _CountingAudit(sink, self)

    def count_event(self, event: str, fields: dict[str, Any]) -> None:
        self.audit_events.labels(event if event in AUDIT_EVENTS else "other").inc()
        if event == "sign_in_completed":
            self.sign_ins.labels("completed").inc()
        elif event == "sign_in_failed":
            reason = fields.get("reason")
            self.sign_ins.labels(reason if reason in SIGN_IN_FAILURES else "other").inc()
        elif event == "refreshed":
            self.refreshes.labels("ok").inc()
        elif event == "refresh_failed":
            kind = fields.get("kind")
            self.refreshes.labels(kind if kind in REFRESH_FAILURES else "other").inc()
        elif event == "rate_limited":
            endpoint = fields.get("endpoint")
            self.rate_limited.labels(endpoint if endpoint in RATE_LIMITED_ENDPOINTS else "other").inc()

    def observe_client(self, client: httpx.AsyncClient, upstream_of: Callable[[httpx.URL], str]) -> None:
        """Count every response ``client`` receives (Cway's errors by status among them)."""

        async def on_response(response: httpx.Response) -> None:
            self.upstream.labels(upstream_of(response.request.url), str(response.status_code)).inc()

        client.event_hooks.setdefault("response", []).append(on_response)

    def transport_error(self, upstream: str) -> None:
        self.upstream.labels(upstream, "transport_error").inc()

    async def tool_middleware(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        """An MCP server middleware: time and count ``tools/call`` by tool and outcome."""
        if ctx.method != "tools/call" or not isinstance(ctx.params, dict):
            return await call_next(ctx)
        tool = await self._tool_label(str(ctx.params.get("name", "")))
        started = time.perf_counter()
        outcome = "exception"
        try:
            result = await call_next(ctx)
            outcome = "error" if isinstance(result, CallToolResult) and result.is_error else "ok"
            return result
        finally:
            self.tool_seconds.labels(tool).observe(time.perf_counter() - started)
            self.tool_calls.labels(tool, outcome).inc()


class _CountingAudit:
    def __init__(self, sink: AuditSink, metrics: RemoteMetrics) -> None:
        self._sink = sink
        self._metrics = metrics

    def event(self, event: str, **fields: Any) -> None:
        self._sink.event(event, **fields)
        self._metrics.count_event(event, fields)


class _PoolCollector(Collector):
    """Database pool use, read when scraped (no bookkeeping on the hot path)."""

    def __init__(self, pool: asyncpg.Pool, draining: Callable[[], bool]) -> None:
        self._pool = pool
        self._draining = draining

    def collect(self) -> Iterator[GaugeMetricFamily]:
        size, idle = self._pool.get_size(), self._pool.get_idle_size()
        yield GaugeMetricFamily("cway_mcp_db_pool_size", "Connections the pool holds.", value=size)
        yield GaugeMetricFamily("cway_mcp_db_pool_in_use", "Connections lent out now.", value=size - idle)
        yield GaugeMetricFamily("cway_mcp_db_pool_max", "The pool's maximum size.", value=self._pool.get_max_size())
        yield GaugeMetricFamily("cway_mcp_draining", "1 while this replica drains after SIGTERM.",
                                value=1 if self._draining() else 0)  # fmt: skip


class _CacheCollector(Collector):
    """The per-replica read caches (read_cache.py): hits, misses, entries, and whether they are on."""

    def __init__(self, caches: dict[str, ReadCache[object]]) -> None:
        self._caches = caches

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        hits = CounterMetricFamily("cway_mcp_read_cache_hits", "Reads answered from the cache.", labels=["cache"])
        misses = CounterMetricFamily("cway_mcp_read_cache_misses", "Reads that went to PostgreSQL.", labels=["cache"])
        size = GaugeMetricFamily("cway_mcp_read_cache_entries", "Entries held.", labels=["cache"])
        for name, cache in self._caches.items():
            hits.add_metric([name], cache.hits)
            misses.add_metric([name], cache.misses)
            size.add_metric([name], len(cache))
        yield hits
        yield misses
        yield size
        live = all(cache.live for cache in self._caches.values())
        yield GaugeMetricFamily(
            "cway_mcp_read_cache_live", "1 while the change listener runs (caches on).", value=1 if live else 0
        )


class HttpMetricsMiddleware:
    """Outermost ASGI middleware: requests and their latency by route, method and status."""

    def __init__(self, app: ASGIApp, metrics: RemoteMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = route_of(scope.get("path", ""))
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.metrics.request_seconds.labels(route).observe(time.perf_counter() - started)
            method = scope.get("method", "")
            self.metrics.requests.labels(
                route, method if method in ("GET", "POST", "DELETE", "OPTIONS") else "other", str(status)
            ).inc()
