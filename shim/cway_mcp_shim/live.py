"""Following an artwork or a project: "tell me when the poster is approved".

A client follows ``cway://artworks/{id}`` or ``cway://projects/{id}`` (the templates of
``cway_tools.object_resources``, the links the tools return) in its own protocol revision:

- 2025-11-25: ``resources/subscribe`` / ``resources/unsubscribe``, then
  ``notifications/resources/updated`` on the session (the capability ``resources.subscribe`` is
  declared because the method is served);
- 2026-07-28: ``subscriptions/listen`` whose filter names the URIs; the SDK's own
  ``ListenHandler`` delivers ``ResourceUpdated`` events from the server's subscription bus, and this
  module starts the Cway follows for the URIs of each stream and stops them when it ends.

Behind each follow is Cway's own ``artwork(id)`` / ``project(id)`` GraphQL subscription, opened
through the gateway, so the one bearer rule applies (the session's account; one forced refresh on a
refusal). Several subscribers of one URI share one Cway subscription. A follow ends with the
session (:meth:`Follows.close`) or the listen stream, and survives a token refresh: when Cway
closes the socket (an expired token, a deploy) the follow connects again with a fresh bearer from
the daemon, after a pause that doubles up to :data:`MAX_PAUSE_SECONDS`; nothing of it reaches the
client as an error.

The stdio shim only: one process is one session. ``cway-mcp serve`` is stateless (no session to
hold a WebSocket for), so it lists the templates but offers no follows (docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import Any

from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ResourceUpdated
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INVALID_PARAMS,
    EmptyResult,
    SubscribeRequestParams,
    SubscriptionsListenRequestParams,
    UnsubscribeRequestParams,
)

from cway_tools import OBJECT_URI, CwayGateway, documents, require_uuid, sdk_adapter

log = logging.getLogger(__name__)

FIRST_PAUSE_SECONDS = 1.0
MAX_PAUSE_SECONDS = 60.0

Notify = Callable[[str], Awaitable[None]]


def parse_uri(uri: str) -> tuple[str, str]:
    """``("artworks" | "projects", canonical id)``, or an invalid-params error naming the forms."""
    match = OBJECT_URI.match(uri)
    if match is None:
        raise MCPError(
            INVALID_PARAMS,
            f"Cannot follow {uri!r}: only cway://artworks/<id> and cway://projects/<id> can be followed.",
        )
    try:
        return match.group(1), require_uuid(match.group(2), "id")
    except ToolError as exc:
        raise MCPError(INVALID_PARAMS, str(exc)) from None


class Follows:
    """The Cway subscriptions this session follows, one per URI, shared by its subscribers."""

    def __init__(self, gateway: CwayGateway) -> None:
        self.gateway = gateway
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._listeners: dict[str, dict[object, Notify]] = {}

    async def start(self, uri: str, key: object, notify: Notify) -> None:
        """Follow ``uri`` for ``key``; checks first that this account can see the object."""
        kind, ident = parse_uri(uri)
        await self._check_visible(kind, ident)
        self._listeners.setdefault(uri, {})[key] = notify
        if uri not in self._tasks or self._tasks[uri].done():
            self._tasks[uri] = asyncio.create_task(self._follow(uri, kind, ident), name=f"cway-follow {uri}")

    def stop(self, uri: str, key: object) -> None:
        listeners = self._listeners.get(uri, {})
        listeners.pop(key, None)
        if not listeners:
            self._listeners.pop(uri, None)
            task = self._tasks.pop(uri, None)
            if task is not None:
                task.cancel()

    def following(self) -> list[str]:
        return sorted(self._tasks)

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        self._listeners.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _check_visible(self, kind: str, ident: str) -> None:
        document, field = (
            (documents.ARTWORK_STATE, "artwork") if kind == "artworks" else (documents.PROJECT_STATE, "project")
        )
        try:
            found = (await self.gateway.execute(document, {"id": ident})).get(field)
        except ToolError as exc:  # Cway's "not found" for another organisation's id, an outage, ...
            raise MCPError(INVALID_PARAMS, f"Cannot follow {kind[:-1]} {ident}: {exc}") from None
        if not isinstance(found, dict):
            raise MCPError(
                INVALID_PARAMS, f"{kind[:-1].capitalize()} {ident} was not found, or this account cannot see it."
            )

    async def _follow(self, uri: str, kind: str, ident: str) -> None:
        document = documents.ARTWORK_CHANGES if kind == "artworks" else documents.PROJECT_CHANGES
        pause = FIRST_PAUSE_SECONDS
        while True:
            try:
                async with aclosing(self.gateway.subscribe(document, {"id": ident})) as events:
                    async for _ in events:
                        pause = FIRST_PAUSE_SECONDS
                        for notify in list(dict.fromkeys(self._listeners.get(uri, {}).values())):
                            try:
                                await notify(uri)
                            except Exception:  # a gone client must not stop the others
                                log.info("could not tell a follower of %s about a change", uri, exc_info=True)
                log.info("Cway ended the subscription for %s; following again", uri)
            except ToolError as exc:  # already worded and scrubbed by the gateway's subscription client
                log.info("following %s: %s; trying again in %g s", uri, exc, pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE_SECONDS)


def subscription_bus() -> InMemorySubscriptionBus:
    """The bus the shim's ``MCPServer`` is built with (``subscriptions=``), so follows can publish on it."""
    return InMemorySubscriptionBus()


def install_follows(server: MCPServer[Any], follows: Follows, bus: InMemorySubscriptionBus) -> None:
    """Serve ``resources/subscribe`` / ``unsubscribe`` (2025-11-25) and start follows for the URIs of
    each ``subscriptions/listen`` stream (2026-07-28). ``bus`` is the one ``server`` was built with."""
    session_key = object()  # 2025-11-25: one stdio session per process

    async def subscribe(ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams) -> EmptyResult:
        session = ctx.session

        async def updated(uri: str) -> None:
            await session.send_resource_updated(uri)

        await follows.start(str(params.uri), session_key, updated)
        return EmptyResult()

    async def unsubscribe(ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams) -> EmptyResult:
        follows.stop(str(params.uri), session_key)
        return EmptyResult()

    sdk_adapter.serve_method(server, "resources/subscribe", SubscribeRequestParams, subscribe)
    sdk_adapter.serve_method(server, "resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)

    streams = ListenHandler(bus)

    async def publish(uri: str) -> None:
        await bus.publish(ResourceUpdated(uri=uri))

    async def listen(ctx: ServerRequestContext[Any, Any], params: SubscriptionsListenRequestParams) -> Any:
        key = object()
        started = []
        try:
            for uri in [str(u) for u in (params.notifications.resource_subscriptions or [])]:
                await follows.start(uri, key, publish)
                started.append(uri)
            return await streams(ctx, params)
        finally:
            for uri in started:
                follows.stop(uri, key)

    sdk_adapter.serve_method(server, "subscriptions/listen", SubscriptionsListenRequestParams, listen)
