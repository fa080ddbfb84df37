"""``POST /v1/token`` and ``POST /v1/token/refresh``: served and documented from one declaration.

Every Cway call a shim makes starts with ``POST /v1/token``, so its cost is paid per tool call.
Through FastAPI the route costs routing, dependency solving, body validation, response-model
validation and a second serialisation; here it is one pure ASGI step in front of the FastAPI app
(inside the peer guard and the internal-error handler, so the socket's rules are unchanged):
read the body, validate it with the contract's own :class:`TokenRequest`, ask the core, write the
contract's :class:`BearerResponse` (or :class:`ErrorBody`) as JSON.

There is one implementation. :data:`TOKEN_OPERATIONS` says, once, which paths exist, what each
is called and which core call answers it; :class:`TokenFastPath` serves from it and
:func:`document_token_routes` puts the same operations, with the same contract models
(:class:`TokenRequest` in, :class:`BearerResponse` out), into the FastAPI app's OpenAPI document.
The FastAPI app has no behaviour for them: its endpoint only refuses (500 ``internal``), so a
request that ever reached it would show at once instead of being answered by a second copy.
``tests/daemon_server/test_openapi_fuzz.py`` checks every answer against the document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from fastapi import APIRouter
from pydantic import ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from cway_authd.control.body_limit import BodyTooLarge, ClientGone, declared_too_large, read_body, send_too_large
from cway_authd.control.peercred import PeerCredentials
from cway_authd.errors import CoreError
from cway_contract import BearerResponse, ErrorBody, ErrorCode, Route, TokenRequest

if TYPE_CHECKING:
    from cway_authd.core import DaemonCore

_JSON_HEADERS = [(b"content-type", b"application/json")]

#: Beyond the control API's common errors: 401 ``not_signed_in`` for an account without tokens (the shim's cue).
TOKEN_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "not_signed_in: the account has no tokens; the body carries sign_in_url"}
}


@dataclass(frozen=True)
class TokenOperation:
    """One token route: its path, its name in the OpenAPI document, and whether it forces a refresh."""

    path: str
    name: str
    summary: str
    force: bool

    async def answer(self, core: DaemonCore, request: TokenRequest | None, peer: PeerCredentials) -> BearerResponse:
        username = request.username if request is not None else None
        if self.force:
            rejected = request.rejected if request is not None else None
            return await core.force_refresh(username, peer, rejected=rejected)
        return await core.bearer(username, peer)


TOKEN_OPERATIONS = (
    TokenOperation(Route.TOKEN, "token", "A current access token", force=False),
    TokenOperation(Route.TOKEN_REFRESH, "token_refresh", "Refresh now (after a 401)", force=True),
)
_BY_PATH = {operation.path: operation for operation in TOKEN_OPERATIONS}


def document_token_routes(router: APIRouter) -> None:
    """Declare :data:`TOKEN_OPERATIONS` on ``router`` for the OpenAPI document (names keep the operation ids)."""
    for operation in TOKEN_OPERATIONS:
        router.add_api_route(
            operation.path,
            _served_by_token_fast_path,
            methods=["POST"],
            name=operation.name,
            summary=operation.summary,
            response_model=BearerResponse,
            responses=TOKEN_RESPONSES,
        )


# Never reached: TokenFastPath answers these paths before FastAPI routes. Its signature documents them
# (the body TokenFastPath validates with, the model it answers with); no docstring, it would become the description.
async def _served_by_token_fast_path(body: TokenRequest | None = None) -> BearerResponse:
    raise RuntimeError("a token route reached FastAPI; TokenFastPath must answer it")


class TokenFastPath:
    """ASGI middleware answering the two token routes itself; see the module docstring."""

    def __init__(self, app: ASGIApp, core: DaemonCore, peer_key: str) -> None:
        self.app = app
        self.core = core
        self.peer_key = peer_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        operation = _BY_PATH.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if operation is None:
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
        try:
            answer = await operation.answer(self.core, request, peer)
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
