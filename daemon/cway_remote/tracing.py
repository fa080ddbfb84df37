"""OpenTelemetry traces of a tool call across the server, PostgreSQL and Cway: off unless configured.

Configured means the standard OpenTelemetry variables name an exporter:
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_ENDPOINT`` (OTLP over HTTP/protobuf,
read by the exporter itself, with ``OTEL_EXPORTER_OTLP_HEADERS`` and the rest), or
``OTEL_TRACES_EXPORTER=otlp``. Without them nothing is imported, nothing is patched, and the mcp
SDK's own spans go to OpenTelemetry's no-op tracer.

What a trace holds: one server span per ``/mcp`` request (method, route and status only: never a
query string, header or body), the mcp SDK's ``tools/call <name>`` span inside it, asyncpg's spans
(SQL text with ``$n`` placeholders, never the values) and httpx's client spans to Cway and the
identity provider (their URLs carry no secret: tokens travel in headers and bodies). Only ``/mcp``
gets a server span: the OAuth routes carry codes and states in their query strings, and a span
is no place for them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cway_remote.settings import MCP_PATH

log = logging.getLogger(__name__)

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def tracing_requested(env: Mapping[str, str] = os.environ) -> bool:
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return exporter == "otlp" or any(env.get(name) for name in ENDPOINT_VARIABLES)


class Tracing:
    """The tracer provider of this process, its instrumentations, and the ASGI server-span middleware."""

    def __init__(self, replica: str) -> None:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        from cway_contract import __version__

        resource = Resource.create(
            {"service.name": "cway-mcp", "service.version": __version__, "service.instance.id": replica}
        )
        self.provider = TracerProvider(resource=resource)
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(self.provider)  # the mcp SDK's spans use the global provider
        self.tracer = self.provider.get_tracer("cway_remote")
        self._asyncpg = AsyncPGInstrumentor()
        self._asyncpg.instrument(tracer_provider=self.provider)
        log.info("OpenTelemetry tracing on (OTLP over HTTP)")

    def instrument_client(self, client: httpx.AsyncClient) -> None:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        # through an instance: a plain method in 0.49b0, a classmethod in 0.66b1; both take this call
        HTTPXClientInstrumentor().instrument_client(client, tracer_provider=self.provider)

    def middleware(self, app: ASGIApp) -> ASGIApp:
        return _ServerSpans(app, self.tracer)

    def shutdown(self) -> None:
        self._asyncpg.uninstrument()
        self.provider.shutdown()  # flushes what is still queued


def start_tracing(replica: str, env: Mapping[str, str] = os.environ) -> Tracing | None:
    if not tracing_requested(env):
        return None
    return Tracing(replica)


class _ServerSpans:
    def __init__(self, app: ASGIApp, tracer: Any) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != MCP_PATH:
            await self.app(scope, receive, send)
            return
        from opentelemetry.trace import SpanKind, StatusCode

        method = scope.get("method", "")
        with self.tracer.start_as_current_span(
            f"{method} {MCP_PATH}",
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "http.route": MCP_PATH, "url.path": MCP_PATH},
        ) as span:

            async def sending(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(StatusCode.ERROR)
                await send(message)

            await self.app(scope, receive, sending)
