"""When a replica cannot serve: PostgreSQL away, or the replica draining after SIGTERM.

PostgreSQL restarted or failed over: every request that needs it (the bearer check, the token
endpoint, a tool's Cway token) fails inside the SDK or a handler. Unhandled, that is a 500, which
clients and balancers read as "this server is broken". It is not: the pool reconnects by itself
on the next acquire once the database is back, so the honest answer is 503 with ``Retry-After``,
and nothing is lost (the tokens are in the database, which kept them).

Draining: after SIGTERM the replica keeps answering while ``/readyz`` says 503, so the balancer
takes it out before the listener closes; each answer then carries ``Connection: close`` so a
client's kept-alive connection moves to another replica instead of dying with this one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import asyncpg
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 2


def database_unavailable(exc: BaseException) -> bool:
    """Is ``exc`` (or what it wraps) PostgreSQL being unreachable, rather than a bug?"""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(
            current,
            OSError
            | TimeoutError
            | asyncpg.PostgresConnectionError
            | asyncpg.InterfaceError
            | asyncpg.exceptions.OperatorInterventionError,  # 57P01 admin shutdown, 57P03 cannot connect now
        ):
            return True
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)
    return False


class AvailabilityMiddleware:
    """503 for a request that failed because PostgreSQL is away; ``Connection: close`` while draining."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        draining: Callable[[], bool],
        on_unavailable: Callable[[], None] = lambda: None,
    ) -> None:
        self.app = app
        self.draining = draining
        self.on_unavailable = on_unavailable

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if self.draining():
                    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                    message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if started or not database_unavailable(exc):
                raise
            self.on_unavailable()
            log.warning("PostgreSQL unavailable (%s): answered 503", type(exc).__name__)
            body = json.dumps(
                {"error": "temporarily_unavailable", "error_description": "the database is unavailable; retry shortly"}
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
