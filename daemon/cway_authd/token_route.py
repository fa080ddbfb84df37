"""The lean ``POST /v1/token`` and ``POST /v1/token/refresh``: the bearer hop without FastAPI's machinery.

Every Cway call a shim makes starts with ``POST /v1/token``, so its cost is paid per tool call.
Through FastAPI the route costs routing, dependency solving, body validation, response-model
validation and a second serialisation; here it is one pure ASGI step in front of the FastAPI app
(inside the peer guard and the internal-error handler, so the socket's rules are unchanged):
read the body, validate it with the contract's own :class:`TokenRequest`, ask the core, write the
contract's :class:`BearerResponse` (or :class:`ErrorBody`) as JSON. Anything else — another
path, another method — goes on to the FastAPI app, which still declares both routes, so the
OpenAPI document describes them as before and they answer in exactly the same shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from cway_common.contract import BearerResponse, ErrorBody, ErrorCode, Route, TokenRequest

from .body_limit import BodyTooLarge, ClientGone, declared_too_large, read_body, send_too_large
from .errors import CoreError
from .peercred import PeerCredentials

if TYPE_CHECKING:
    from .core import DaemonCore

_PATHS = frozenset({Route.TOKEN, Route.TOKEN_REFRESH})
_JSON_HEADERS = [(b"content-type", b"application/json")]


class TokenFastPath:
    """ASGI middleware answering the two token routes itself; see the module docstring."""

    def __init__(self, app: ASGIApp, core: DaemonCore, peer_key: str) -> None:
        self.app = app
        self.core = core
        self.peer_key = peer_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in _PATHS:
            await self.app(scope, receive, send)
            return
        if declared_too_large(scope):
            await send_too_large(send)
            return
        try:
            body = await read_body(receive)
        except BodyTooLarge:
            await send_too_large(send)
            return
        except ClientGone:  # nobody to hand a token to
            return
        try:
            request = TokenRequest.model_validate_json(body) if body.strip() not in (b"", b"null") else None
        except ValidationError as exc:
            await _send(send, 400, _error(ErrorCode.BAD_REQUEST, validation_message(exc)))
            return
        peer = self._peer(scope)
        if peer is None:  # the peer guard refused such a request already; never hand a token to an unknown peer
            await _send(send, 403, _error(ErrorCode.FORBIDDEN, "this socket only serves its owner"))
            return
        username = request.username if request is not None else None
        try:
            if scope["path"] == Route.TOKEN:
                answer: BearerResponse = await self.core.bearer(username, peer)
            else:
                rejected = request.rejected if request is not None else None
                answer = await self.core.force_refresh(username, peer, rejected=rejected)
        except CoreError as exc:
            await _send(send, exc.status, exc.to_body().model_dump_json(exclude_none=True).encode())
            return
        await _send(send, 200, answer.model_dump_json().encode())

    def _peer(self, scope: Scope) -> PeerCredentials | None:
        peer = scope.get("state", {}).get(self.peer_key)
        return peer if isinstance(peer, PeerCredentials) else None


class _HasErrors(Protocol):
    def errors(self) -> Sequence[Any]: ...


def validation_message(exc: _HasErrors) -> str:
    """Name the field and the problem, never the input value (it may be a code or a URL with one)."""
    problems = []
    for error in exc.errors()[:5]:
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return "invalid request: " + ("; ".join(problems) or "malformed body")


def _error(code: ErrorCode, message: str) -> bytes:
    return ErrorBody(error=code, message=message).model_dump_json(exclude_none=True).encode()


async def _send(send: Send, status: int, payload: bytes) -> None:
    headers = [*_JSON_HEADERS, (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
