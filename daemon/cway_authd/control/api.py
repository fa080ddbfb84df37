"""The control API: the daemon's HTTP interface on its owner-only Unix socket.

It is a thin translation layer. Every route in :class:`cway_contract.contract.Route` maps to one
:class:`~cway_authd.core.DaemonCore` method, takes and returns the contract models, and every
failure leaves as an :class:`~cway_contract.contract.ErrorBody` (``{"error": code, "message": ...}``)
so the shim and the CLI only ever parse one error shape:

* ``CoreError``                    → its own code and status;
* request validation errors        → 400 ``bad_request`` (the offending *values* are not echoed:
  a pasted redirect URL carries an authorization code);
* unknown route                    → 404 ``not_found``; wrong method → 405 ``bad_request``;
* anything unexpected              → 500 ``internal`` with a generic message; details go to the log.

Who may call it: the socket file is 0600 in a 0700 directory, and, as ssh-agent does, every
connection is also checked against the kernel's peer credentials. ASGI scopes do not carry the
socket, so the check cannot live in an ordinary middleware; it lives in the HTTP protocol
object, which sees the transport once per connection. :class:`PeerCheckedHttpToolsProtocol` (passed as
``uvicorn.Config(http=...)``) reads the peer's uid in ``connection_made``, drops the connection
before a byte is parsed when it is not ours, and otherwise hands the peer to every request of
that connection (``request.state``) for the audit log. :class:`PeerGuard` then fails closed: a
request that arrives without a vouched-for peer (the app served by some other server) gets 403
``forbidden``. Only the daemon's own effective uid is accepted, root included (stricter than
ssh-agent, which lets root in: root can read the store anyway, but has no business asking).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from cway_authd.control.body_limit import BodyLimit
from cway_authd.control.peercred import PeerCredentials, PeerCredentialsUnavailable, peer_credentials
from cway_authd.control.token_route import TokenFastPath, document_token_routes, validation_message
from cway_authd.errors import CoreError
from cway_contract import (
    AccountInfo,
    AccountsResponse,
    ErrorBody,
    ErrorCode,
    HealthResponse,
    KeyRotationResponse,
    LogoutResponse,
    Route,
    SignInCompleteRequest,
    SignInStartRequest,
    SignInStatus,
    Username,
    __version__,
)

if TYPE_CHECKING:
    from cway_authd.core import DaemonCore

log = logging.getLogger("cway_authd.control")

PEER_STATE_KEY = "cway_peer"
"""Key in ``scope["state"]`` (hence ``request.state``) under which the checked peer travels."""

_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody} for status in (400, 403, 404, 409, 413, 500, 502, 503)
}


class _Transport(Protocol):
    def get_extra_info(self, name: str, default: Any = None) -> Any: ...


class _PeerChecked:
    """A kernel-checked peer uid on ``connection_made``, for either of uvicorn's HTTP protocols.

    ``allowed_uid`` defaults to the daemon's effective uid at connection time.
    """

    allowed_uid: int | None = None
    app_state: dict[str, Any]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        assert isinstance(transport, asyncio.Transport)
        self._refused = False
        expected = self.allowed_uid if self.allowed_uid is not None else os.geteuid()
        peer = _read_peer(transport)
        if peer is None or peer.uid != expected:
            self._refused = True
            if peer is None:
                log.warning("refused a control connection: peer credentials unavailable")
            else:
                log.warning(
                    "refused a control connection from uid %d (pid %s): not uid %d", peer.uid, peer.pid, expected
                )
            transport.abort()  # no response: the peer learns nothing, not even the HTTP version
            return
        # A per-connection copy: app_state is shared by all connections of the server.
        self.app_state = {**self.app_state, PEER_STATE_KEY: peer}

    def data_received(self, data: bytes) -> None:
        if getattr(self, "_refused", True):
            return  # belt and braces: never parse bytes from a refused (or unchecked) peer
        super().data_received(data)  # type: ignore[misc]


class PeerCheckedH11Protocol(_PeerChecked, H11Protocol):
    """uvicorn's h11 protocol (pure Python), peer-checked."""


class PeerCheckedHttpToolsProtocol(_PeerChecked, HttpToolsProtocol):
    """uvicorn's httptools protocol (llhttp, in C: about half the CPU of h11 per request), peer-checked."""


def _read_peer(transport: _Transport) -> PeerCredentials | None:
    sock = transport.get_extra_info("socket")
    if sock is None:
        return None
    try:
        return peer_credentials(sock)
    except PeerCredentialsUnavailable as exc:
        log.warning("cannot read control peer credentials: %s", exc)
        return None


def peer_from_scope(scope: Scope) -> PeerCredentials | None:
    peer = scope.get("state", {}).get(PEER_STATE_KEY)
    return peer if isinstance(peer, PeerCredentials) else None


class PeerGuard:
    """Fail closed: answer 403 ``forbidden`` unless the protocol vouched for the peer's uid."""

    def __init__(self, app: ASGIApp, allowed_uid: int | None = None) -> None:
        self.app = app
        self.allowed_uid = allowed_uid

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        expected = self.allowed_uid if self.allowed_uid is not None else os.geteuid()
        peer = peer_from_scope(scope)
        if peer is None or peer.uid != expected:
            log.warning("refused a control request without a verified peer (%s)", peer)
            body = ErrorBody(error=ErrorCode.FORBIDDEN, message="this socket only serves its owner")
            await _error_response(403, body)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class InternalErrors:
    """Turn an unexpected exception into 500 ``internal`` instead of a bare text/plain 500.

    Starlette's own ``Exception`` handler re-raises after answering, so uvicorn would print the
    traceback a second time; this middleware logs once and answers in the contract's shape.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unexpected error serving %s %s", scope.get("method"), scope.get("path"))
            if not started:
                body = ErrorBody(error=ErrorCode.INTERNAL, message="internal error in the daemon; see its log")
                await _error_response(500, body)(scope, receive, send)


def create_control_app(core: DaemonCore, socket_path: Path) -> FastAPI:
    """Build the control app for ``core``; ``socket_path`` is reported by ``/v1/health``."""
    app = FastAPI(
        title="cway-auth daemon control API",
        version=__version__,
        description="Served only on the daemon's owner-only Unix socket. Access tokens only; "
        "refresh tokens never leave the daemon.",
        openapi_url=Route.OPENAPI,
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.include_router(_routes(core, socket_path))
    _answers_as_documented(app)
    app.add_exception_handler(CoreError, _core_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # add_middleware puts the last one outermost: PeerGuard runs before anything else, and the
    # lean token routes (token_route.py) run inside both, before FastAPI's routing. BodyLimit
    # (413 past 64 KiB) guards every other route; the token routes apply the same limit themselves.
    app.add_middleware(BodyLimit)
    app.add_middleware(TokenFastPath, core=core, peer_key=PEER_STATE_KEY)
    app.add_middleware(InternalErrors)
    app.add_middleware(PeerGuard)
    return app


def _routes(core: DaemonCore, socket_path: Path) -> APIRouter:
    router = APIRouter(responses=_ERROR_RESPONSES)

    def peer_info(request: Request) -> PeerCredentials:
        peer = peer_from_scope(request.scope)
        if peer is None:  # PeerGuard already refused such a request; never hand a token to an unknown peer
            raise CoreError(ErrorCode.FORBIDDEN, "this socket only serves its owner", status=403)
        return peer

    @router.get(Route.HEALTH, summary="Daemon status (no secrets)")
    async def health() -> HealthResponse:
        return await core.health(str(socket_path))

    @router.get(Route.ACCOUNTS, summary="Known accounts and their state")
    async def accounts() -> AccountsResponse:
        return AccountsResponse(accounts=await core.list_accounts())

    @router.get(Route.ACCOUNT, summary="One account (whoami)")
    async def account(username: Username) -> AccountInfo:
        return await core.account(username)

    @router.delete(Route.ACCOUNT, summary="Sign out and forget the account")
    async def logout(username: Username) -> LogoutResponse:
        return await core.logout(username)

    document_token_routes(router)  # served by TokenFastPath; declared here, in order, from its own table

    @router.post(Route.SIGN_IN, summary="Start a browser sign-in")
    async def sign_in(body: SignInStartRequest | None = None) -> SignInStatus:
        return await core.start_sign_in(body.username if body else None)

    @router.post(Route.SIGN_IN_COMPLETE, summary="Finish a sign-in by hand")
    async def sign_in_complete(body: SignInCompleteRequest) -> SignInStatus:
        return await core.complete_sign_in(body)

    @router.get(Route.SIGN_IN_STATUS, summary="Poll a sign-in")
    async def sign_in_status(flow_id: str) -> SignInStatus:
        return core.sign_in_status(flow_id)

    @router.post(Route.STORE_ROTATE_KEY, summary="Re-encrypt the token store under a new key and retire the old one")
    async def rotate_store_key(request: Request) -> KeyRotationResponse:
        return await core.rotate_store_key(peer_info(request))

    return router


def _answers_as_documented(app: FastAPI) -> None:
    """Leave FastAPI's 422 out of the OpenAPI document: a request that fails validation gets 400 ``bad_request``
    (an :class:`ErrorBody`, documented on every route), never 422 with FastAPI's own shape."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    operation.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _error_response(status: int, body: ErrorBody, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body.model_dump(mode="json", exclude_none=True), status_code=status, headers=headers)


async def _core_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CoreError)
    return _error_response(exc.status, exc.to_body())


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return _error_response(400, ErrorBody(error=ErrorCode.BAD_REQUEST, message=validation_message(exc)))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 404:
        body = ErrorBody(error=ErrorCode.NOT_FOUND, message=f"no such route: {request.method} {request.url.path}")
    elif exc.status_code == 405:
        allowed = (headers or {}).get("allow", "")
        body = ErrorBody(
            error=ErrorCode.BAD_REQUEST, message=f"method {request.method} not allowed here (allowed: {allowed})"
        )
    elif exc.status_code == 403:
        body = ErrorBody(error=ErrorCode.FORBIDDEN, message=str(exc.detail))
    elif exc.status_code >= 500:
        body = ErrorBody(error=ErrorCode.INTERNAL, message="internal error in the daemon; see its log")
    else:
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        body = ErrorBody(error=ErrorCode.BAD_REQUEST, message=detail)
    return _error_response(exc.status_code, body, headers)
