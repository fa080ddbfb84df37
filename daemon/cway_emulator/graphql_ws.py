"""GraphQL over WebSocket (``graphql-transport-ws``) on the Cway app's ``/graphql`` path.

Real Cway streams AI answers (``aiQueryResult``) over a subscription, and the shim has to speak
that protocol to get them; this is the other end. A small handler rather than ariadne's
``GraphQLTransportWSHandler`` because the emulator's schema is plain graphql-core with its own
resolvers, and because authentication and the failure knobs have to work exactly as on
``POST /graphql``:

* the bearer comes from the ``connection_init`` payload (``{"Authorization": "Bearer ..."}``)
  or, failing that, the upgrade request's ``Authorization`` header; a missing or unusable one
  closes the socket with **4401 Unauthorized** (and so does ``subscribe`` before the ack, as the
  protocol says). The token is checked again at every ``subscribe``, so a revoked sign-in stops
  working on an open socket too;
* every ``subscribe`` goes through :func:`~cway_emulator.graphql_api.prepare`, so a subscription
  must validate against the real schema like any query; queries and mutations are answered with
  one ``next`` and ``complete``, as the protocol allows;
* knobs: ``latency["graphql_ws"]`` delays the ack, ``fail("graphql_ws", mode)`` closes the
  connection at ``connection_init`` (``401``/``invalid_grant`` → 4401, ``hang`` → no ack, then
  4408, ``429``/``503`` → 1013, others → 1011). Counters: ``graphql_ws`` (connections),
  ``graphql_ws_unauthorized``, ``graphql_invalid``;
* ``ws_close_on_expiry`` (on by default): while operations run, the connection's bearer is checked
  every :data:`EXPIRY_CHECK_SECONDS`; once it is expired or revoked the socket is closed with
  **4401** (counter ``graphql_ws_expired``), so a long-lived subscription (an artwork follow) has to
  come back with a fresh token;
* ``cway_unauthenticated`` other than ``401`` (Cway refuses a bearer *inside* GraphQL): the socket
  is acknowledged whatever the bearer, and a ``subscribe`` with an unusable one (or after an
  injected ``401``) is answered with an ``error`` message whose ``extensions.code`` is
  ``UNAUTHENTICATED``, as servers that authenticate per operation do. Which one real Cway does is
  not documented, so a client has to handle both.

Protocol reference: https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from cway_emulator.cway_core import Unauthorized
from cway_emulator.emulator import Emulator
from cway_emulator.fixtures import Record
from cway_emulator.gql_context import Ctx
from cway_emulator.graphql_api import Prepared, execute_prepared, prepare, subscribe_prepared
from cway_emulator.http_common import log

SUBPROTOCOL = "graphql-transport-ws"
INIT_TIMEOUT_SECONDS = 10.0
#: Real seconds between two checks of an open connection's bearer (``ws_close_on_expiry``).
EXPIRY_CHECK_SECONDS = 0.5

# Close codes of the protocol (4xxx) and RFC 6455 (1xxx).
BAD_REQUEST, UNAUTHORIZED, INIT_TIMEOUT, DUPLICATE_ID, TOO_MANY_INITS = 4400, 4401, 4408, 4409, 4429
INTERNAL_ERROR, TRY_AGAIN_LATER = 1011, 1013


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class GraphQLWSSession:
    """One WebSocket connection: the init handshake, then any number of concurrent operations."""

    def __init__(self, emu: Emulator, ws: WebSocket) -> None:
        self.emu, self.ws = emu, ws
        self.token: str | None = None
        self.init_seen = False
        self.acked = False
        self.operations: dict[str, asyncio.Task[None]] = {}
        self._send_lock = asyncio.Lock()
        #: Refuse the bearer per operation (an ``error`` message), not per connection (close 4401).
        self.per_operation = emu.knobs.cway_unauthenticated != "401"
        #: An injected ``401`` on a per-operation connection: the next ``subscribe`` is refused.
        self.refuse_next = False
        #: The watchdog closed the socket because its bearer expired (``ws_close_on_expiry``).
        self.expired = False

    async def run(self) -> None:
        watchdog: asyncio.Task[None] | None = None
        try:
            first = await asyncio.wait_for(self._receive(), INIT_TIMEOUT_SECONDS)
            await self._handle(first)
            if self.emu.knobs.ws_close_on_expiry and not self.per_operation:
                watchdog = asyncio.create_task(self._close_when_the_bearer_expires())
            while True:
                await self._handle(await self._receive())
        except TimeoutError:
            await self._close(INIT_TIMEOUT, "Connection initialisation timeout")
        except _Close as close:
            await self._close(close.code, close.reason)
        except WebSocketDisconnect:
            pass
        except RuntimeError:
            if not self.expired:  # receiving after the watchdog closed the socket is expected
                raise
        finally:
            if watchdog is not None:
                watchdog.cancel()
            for task in self.operations.values():
                task.cancel()
            await asyncio.gather(*self.operations.values(), return_exceptions=True)

    async def _close_when_the_bearer_expires(self) -> None:
        """A socket lives no longer than its bearer: close 4401 once it no longer authenticates."""
        while True:
            await asyncio.sleep(EXPIRY_CHECK_SECONDS)
            if not self.operations or not self.token:
                continue
            try:
                self.emu.cway.authenticate(self.token)
            except Unauthorized as exc:
                self.expired = True
                self.emu.counters.incr("graphql_ws_expired")
                log.info("graphql ws bearer no longer valid (%s): closing", exc)
                await self._close(UNAUTHORIZED, "Unauthorized: the token expired")
                return

    async def _receive(self) -> dict[str, Any]:
        text = await self.ws.receive_text()
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            raise _Close(BAD_REQUEST, "Invalid message received") from None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise _Close(BAD_REQUEST, "Invalid message received")
        return message

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "connection_init":
            await self._init(message.get("payload"))
        elif kind == "ping":
            await self._send({"type": "pong"})
        elif kind == "pong":
            return
        elif kind == "subscribe":
            self._subscribe(message)
        elif kind == "complete":
            task = self.operations.pop(str(message.get("id")), None)
            if task is not None:
                task.cancel()
        else:
            raise _Close(BAD_REQUEST, f"Unexpected message type {kind!r}")

    async def _init(self, payload: Any) -> None:
        if self.init_seen:
            raise _Close(TOO_MANY_INITS, "Too many initialisation requests")
        self.init_seen = True
        await self._gate()
        auth = (payload.get("Authorization") or payload.get("authorization")) if isinstance(payload, dict) else None
        header = self.ws.headers.get("authorization")
        self.token = _bearer(auth if isinstance(auth, str) and auth.strip() else header)
        if not self.per_operation and self._user() is None:  # refuse a bad token now, not at the first subscribe
            raise _Close(UNAUTHORIZED, "Unauthorized")
        await self._send({"type": "connection_ack"})
        self.acked = True

    async def _gate(self) -> None:
        knobs = self.emu.knobs
        delay = knobs.latency_for("graphql_ws")
        if delay > 0:
            await asyncio.sleep(delay)
        rule = knobs.take_failure("graphql_ws")
        if rule is None:
            return
        self.emu.counters.incr("injected_failures")
        if rule.mode in ("401", "invalid_grant"):
            if self.per_operation:
                self.refuse_next = True
                return
            self.emu.counters.incr("graphql_ws_unauthorized")
            raise _Close(UNAUTHORIZED, "Unauthorized")
        if rule.mode == "hang":
            await self._hang(knobs.hang_seconds)
        if rule.mode in ("429", "503"):
            raise _Close(TRY_AGAIN_LATER, f"Injected {rule.mode}")
        raise _Close(INTERNAL_ERROR, f"Injected {rule.mode}")

    async def _hang(self, seconds: float) -> None:
        """Never acknowledge; give up after ``seconds``, or as soon as the client leaves."""
        deadline = asyncio.get_running_loop().time() + seconds
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                message = await asyncio.wait_for(self.ws.receive(), left)
            except TimeoutError:
                break
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(int(message.get("code", 1000)))
        raise _Close(INIT_TIMEOUT, "Connection initialisation timeout")

    def _user(self) -> Record | None:
        """The Cway user behind the connection's token, checked now (it may have been revoked)."""
        try:
            if not self.token:
                raise Unauthorized("missing bearer")
            if self.refuse_next:
                self.refuse_next = False
                raise Unauthorized("injected 401")
            return self.emu.cway.authenticate(self.token)
        except Unauthorized as exc:
            self.emu.counters.incr("graphql_ws_unauthorized")
            log.info("graphql ws unauthorized: %s", exc)
            return None

    def _subscribe(self, message: dict[str, Any]) -> None:
        if not self.acked:  # the protocol: subscribing before the acknowledgement is unauthorised
            raise _Close(UNAUTHORIZED, "Unauthorized")
        op_id, payload = message.get("id"), message.get("payload")
        if not isinstance(op_id, str) or not op_id or not isinstance(payload, dict):
            raise _Close(BAD_REQUEST, "Invalid message received")
        if op_id in self.operations:
            raise _Close(DUPLICATE_ID, f"Subscriber for {op_id} already exists")
        user = self._user()
        if user is None and not self.per_operation:
            raise _Close(UNAUTHORIZED, "Unauthorized")
        if user is None:
            self.operations[op_id] = asyncio.create_task(self._send_unauthenticated(op_id))
            return
        emu = self.emu
        ctx = Ctx(user=user, store=emu.store, clock=emu.clock, base_url=emu.cway_base_url, knobs=emu.knobs)
        self.operations[op_id] = asyncio.create_task(self._operate(op_id, payload, ctx))

    async def _operate(self, op_id: str, payload: dict[str, Any], ctx: Ctx) -> None:
        try:
            request = prepare(payload)
            if not isinstance(request, Prepared):
                self.emu.counters.incr("graphql_invalid")
                await self._send({"id": op_id, "type": "error", "payload": request[1]["errors"]})
                return
            if not request.is_subscription:
                with self.emu.store.lock:
                    result = execute_prepared(request, ctx)
                await self._send({"id": op_id, "type": "next", "payload": result})
            else:
                stream = await subscribe_prepared(request, ctx)
                if isinstance(stream, dict):
                    await self._send({"id": op_id, "type": "error", "payload": stream.get("errors", [])})
                    return
                async for result in stream:
                    await self._send({"id": op_id, "type": "next", "payload": result})
            await self._send({"id": op_id, "type": "complete"})
        except (WebSocketDisconnect, RuntimeError):
            pass  # the client went away mid-stream
        finally:
            if self.operations.get(op_id) is asyncio.current_task():
                del self.operations[op_id]

    async def _send_unauthenticated(self, op_id: str) -> None:
        error = {"message": "Not authenticated", "extensions": {"code": "UNAUTHENTICATED"}}
        try:
            await self._send({"id": op_id, "type": "error", "payload": [error]})
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            if self.operations.get(op_id) is asyncio.current_task():
                del self.operations[op_id]

    async def _send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.ws.send_text(json.dumps(message))

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await self.ws.close(code=code, reason=reason)


def _bearer(value: str | None) -> str | None:
    """``Bearer xyz`` (or a bare ``xyz``, as some clients send in the init payload) → ``xyz``."""
    if not value or not value.strip():
        return None
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() == "bearer":
        return rest.strip() or None
    return value.strip()


async def serve_graphql_ws(emu: Emulator, ws: WebSocket) -> None:
    """The ``/graphql`` WebSocket route: only ``graphql-transport-ws`` is spoken (else HTTP 403)."""
    emu.counters.incr("graphql_ws")
    if SUBPROTOCOL not in ws.scope.get("subprotocols", []):
        await ws.close(code=BAD_REQUEST)  # before accept: the upgrade is refused
        return
    await ws.accept(subprotocol=SUBPROTOCOL)
    await GraphQLWSSession(emu, ws).run()
