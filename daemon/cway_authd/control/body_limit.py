"""The control socket's one request-body limit: 413 on a declared or a streamed body past it.

Every request the contract defines fits in a few hundred bytes; the limit only decides how much
memory a buggy or hostile client of the owner's can make the daemon hold. A body is refused
**before** it is read when its ``Content-Length`` says it is too large, and as soon as a streamed
(chunked) body passes the limit; either way the answer is 413 with ``Connection: close``, because
the rest of that body is never read and the connection cannot carry another request.

:class:`TokenFastPath` (``token_route.py``) reads the token routes' bodies with :func:`read_body`
itself; :class:`BodyLimit` does it for every other route, before FastAPI reads (and buffers) it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cway_contract import ErrorBody, ErrorCode

MAX_BODY_BYTES = 64 * 1024

_TOO_LARGE = (
    ErrorBody(error=ErrorCode.BAD_REQUEST, message=f"request body larger than {MAX_BODY_BYTES // 1024} KiB")
    .model_dump_json(exclude_none=True)
    .encode()
)


class BodyTooLarge(Exception):
    """The body passed :data:`MAX_BODY_BYTES` (declared or streamed)."""


class ClientGone(Exception):
    """The client disconnected before its body was complete: there is no one to answer."""


def declared_too_large(scope: Scope, limit: int = MAX_BODY_BYTES) -> bool:
    """True when the request's ``Content-Length`` is past ``limit`` (the parser has already refused a malformed one)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return not value.isdigit() or len(value) > 12 or int(value) > limit
    return False


async def read_body(receive: Receive, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body, or :class:`BodyTooLarge` as soon as it passes ``limit``, or :class:`ClientGone`."""
    message = await receive()
    if message["type"] != "http.request":
        raise ClientGone
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False) and len(body) <= limit:
        return body  # the usual case: one message
    chunks = [body]
    size = len(body)
    while message.get("more_body", False):
        if size > limit:
            raise BodyTooLarge
        message = await receive()
        if message["type"] != "http.request":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
    if size > limit:
        raise BodyTooLarge
    return b"".join(chunks)


async def send_too_large(send: Send) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(_TOO_LARGE)).encode()),
        (b"connection", b"close"),  # the rest of the body is never read
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": _TOO_LARGE})


class BodyLimit:
    """ASGI middleware: read the body within the limit (413 past it), then hand it on as one message."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
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
        except ClientGone:
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()  # after the body: only a disconnect can come
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
