"""GraphQL subscriptions to Cway over WebSocket (``graphql-transport-ws``), as a tool needs them.

Why the shim needs this at all: Cway's AI queries (``artworkAIAnalysis``,
``projectHistorySummary``) only return a thread id; the text arrives over the ``aiQueryResult``
subscription. The rules mirror the HTTP gateway's, so an account behaves the same on both roads:

* the bearer follows the one rule of :mod:`cway_tools.bearer` (the same :class:`Bearer` the
  HTTP road uses): an auth refusal (HTTP 401/403 on the upgrade, close code 4401/4403, or a
  GraphQL error whose ``extensions.code`` says UNAUTHENTICATED, as servers that authenticate per
  operation answer) gets one forced refresh and one more connection; a second refusal is
  reported, never looped on;
* the token is sent both on the upgrade request's ``Authorization`` header and in the
  ``connection_init`` payload (``{"Authorization": "Bearer ..."}``), since Cway does not document
  which one its subscription endpoint reads;
* every failure is a short ``ToolError``; tokens are never logged or echoed (the websockets
  library's DEBUG frame log would show the init payload, so it gets a logger that drops DEBUG).

``websockets`` is imported inside :func:`subscribe`, so starting the shim does not load it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import aclosing
from typing import Any, NoReturn
from urllib.parse import urlsplit

from mcp.server.mcpserver.exceptions import ToolError

from cway_tools.bearer import Bearer, graphql_refusal
from cway_tools.error_text import graphql_errors_text, scrub

log = logging.getLogger(__name__)

SUBPROTOCOL = "graphql-transport-ws"
AUTH_CLOSE_CODES = frozenset({4401, 4403})
AUTH_HTTP_STATUSES = frozenset({401, 403})
OPERATION_ID = "1"
#: How long closing the socket may take (after a result, a timeout or an error).
CLOSE_TIMEOUT_SECONDS = 2.0

#: The websockets library logs frames (the init payload carries the bearer) at DEBUG: never emit those.
_wire_log = logging.getLogger("cway_tools.subscriptions.wire")
_wire_log.setLevel(logging.INFO)


class _AuthRefused(Exception):
    """Cway refused the bearer on the WebSocket (the ``why`` is for the message, never a secret)."""


async def subscribe(
    url: str,
    text: str,
    variables: Mapping[str, Any] | None,
    operation_name: str | None,
    bearer: Bearer,
    *,
    open_timeout: float,
    user_agent: str,
    on_subscribed: Callable[[], None] | None = None,
) -> AsyncGenerator[dict[str, Any], None]:
    """Yield the ``data`` of every result of one subscription until the server completes it.

    Close the generator (``contextlib.aclosing``) to stop early; the socket is closed with it.
    ``on_subscribed`` is called once the server acknowledged the connection and the subscription
    was sent: a caller that must not miss an event (a download it is about to start) waits for it.
    """
    token = await bearer.current()
    delivered = False
    while True:
        try:
            connection = _one_connection(
                url, token, text, variables, operation_name, open_timeout, user_agent, on_subscribed
            )
            async with aclosing(connection):  # closing us early closes the socket now, not at GC
                async for data in connection:
                    delivered = True
                    yield data
            return
        except _AuthRefused as refused:
            if delivered:  # mid-stream: a retry would replay what the caller already has
                raise ToolError(f"Cway stopped the subscription: the access token was refused ({refused}).") from None
            retry = await bearer.after_rejection(str(refused))
            if retry is None:
                raise ToolError(bearer.refused_message("Cway's subscription endpoint", str(refused))) from None
            token = retry


async def _one_connection(
    url: str,
    token: str,
    text: str,
    variables: Mapping[str, Any] | None,
    operation_name: str | None,
    open_timeout: float,
    user_agent: str,
    on_subscribed: Callable[[], None] | None = None,
) -> AsyncGenerator[dict[str, Any], None]:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
    from websockets.protocol import State
    from websockets.typing import Subprotocol

    host = urlsplit(url).netloc
    headers = {"Authorization": f"Bearer {token}"}
    subscribe_msg: dict[str, Any] = {"query": text, "variables": dict(variables or {})}
    if operation_name:
        subscribe_msg["operationName"] = operation_name
    try:
        async with connect(
            url,
            subprotocols=[Subprotocol(SUBPROTOCOL)],
            additional_headers=headers,
            user_agent_header=user_agent,
            open_timeout=open_timeout,
            close_timeout=CLOSE_TIMEOUT_SECONDS,
            logger=_wire_log,
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": headers}))
            await asyncio.wait_for(_await_ack(ws), open_timeout)
            await ws.send(json.dumps({"id": OPERATION_ID, "type": "subscribe", "payload": subscribe_msg}))
            if on_subscribed is not None:
                on_subscribed()
            try:
                async with aclosing(_messages(ws, token)) as messages:
                    async for message in messages:
                        yield message
            finally:
                if ws.state is State.OPEN:  # stopped early by the caller: tell Cway, best effort
                    try:
                        await ws.send(json.dumps({"id": OPERATION_ID, "type": "complete"}))
                    except ConnectionClosed:
                        pass
    except ConnectionClosed as exc:
        code, reason = (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd is not None else (1006, "")
        if code in AUTH_CLOSE_CODES:
            raise _AuthRefused(f"WebSocket close {code}") from None
        shown = f" {reason[:120]}" if reason and token not in reason else ""
        raise ToolError(f"Cway closed the subscription at {host} (code {code}{shown}); try again shortly.") from None
    except InvalidStatus as exc:
        status = exc.response.status_code
        if status in AUTH_HTTP_STATUSES:
            raise _AuthRefused(f"HTTP {status} on the WebSocket upgrade") from None
        raise ToolError(
            f"Cway refused the WebSocket upgrade at {host} (HTTP {status}); check CWAY_WS_URL, which Cway does "
            "not publish (default: CWAY_API_URL with wss://)."
        ) from None
    except (InvalidURI, InvalidHandshake) as exc:
        raise ToolError(f"Cway's subscription endpoint at {host} did not speak {SUBPROTOCOL} ({exc}).") from None
    except TimeoutError:
        raise ToolError(f"Cway's subscription endpoint at {host} did not answer within {open_timeout:g} s.") from None
    except OSError as exc:
        raise ToolError(f"Cway's subscription endpoint cannot be reached at {host} ({type(exc).__name__}).") from None


async def _await_ack(ws: Any) -> None:
    while True:
        message = _decode(await ws.recv())
        if message.get("type") == "connection_ack":
            return
        if message.get("type") == "ping":
            await ws.send(json.dumps({"type": "pong"}))


async def _messages(ws: Any, token: str) -> AsyncGenerator[dict[str, Any], None]:
    """The ``data`` of each ``next`` for our operation; ``error`` becomes a ToolError."""
    async for raw in ws:
        message = _decode(raw)
        kind = message.get("type")
        if kind == "ping":
            await ws.send(json.dumps({"type": "pong"}))
        elif message.get("id") != OPERATION_ID:
            continue
        elif kind == "next":
            payload = message.get("payload") or {}
            if payload.get("errors"):
                _raise_for_errors(payload["errors"], token)
            if isinstance(payload.get("data"), dict):
                yield payload["data"]
        elif kind == "error":
            _raise_for_errors(message.get("payload") or "unknown error", token)
        elif kind == "complete":
            return


def _raise_for_errors(errors: Any, token: str) -> NoReturn:
    refused = graphql_refusal(errors)
    if refused is not None:
        raise _AuthRefused(refused)
    raise ToolError(scrub(graphql_errors_text(errors), [token]))


def _decode(raw: str | bytes) -> dict[str, Any]:
    try:
        message = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ToolError("Cway's subscription endpoint sent something that is not JSON.") from None
    if not isinstance(message, dict):
        raise ToolError("Cway's subscription endpoint sent an unexpected message.")
    return message
