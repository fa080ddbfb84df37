"""Step-up authorization: a read scope by default, the write scope only when a change is asked for.

A client signs in with ``cway`` (what the protected resource metadata lists, so what the SDK's
client asks for first): enough for every read-only tool. A tool that changes Cway (any tool
whose annotations do not say ``readOnlyHint``) needs ``cway.write`` as well. Called with a token
without it, ``/mcp`` answers HTTP 403 with ``WWW-Authenticate: Bearer error="insufficient_scope",
scope="cway cway.write"`` (RFC 6750 §3.1, the MCP authorization spec's step-up), and a client
such as the SDK's ``OAuthClientProvider`` runs the authorization again for the wider scope; the
person sees the consent page naming the new scope (remembered consent is per scope set) and the
call is retried with the new token.

This is checked at the HTTP layer, before the MCP handler, because a step-up is an HTTP answer: a
JSON-RPC error could not make a client re-authorize. Only ``tools/call`` of a write tool costs a
token lookup here; every other request passes untouched.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cway_remote.provider import SCOPE, WRITE_SCOPE, CwayOAuthProvider

#: The most request body read to find the method and tool name (a tools/call is small).
MAX_BODY = 1024 * 1024


class StepUpMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        path: str,
        provider: CwayOAuthProvider,
        write_tools: Callable[[], Awaitable[frozenset[str]]],
        resource_metadata_url: str,
    ) -> None:
        self.app = app
        self.path = path
        self.provider = provider
        self.write_tools = write_tools
        self.resource_metadata_url = resource_metadata_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path") != self.path:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            more = message.get("more_body", False)
            if size > MAX_BODY:
                break
        body = b"".join(chunks)
        if not more and await self._needs_write(scope, body):
            await self._insufficient(send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": more}
            return await receive()

        await self.app(scope, replay, send)

    async def _needs_write(self, scope: Scope, body: bytes) -> bool:
        try:
            message = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return False
        if not isinstance(message, dict) or message.get("method") != "tools/call":
            return False
        params = message.get("params")
        name = params.get("name") if isinstance(params, dict) else None
        if not isinstance(name, str) or name not in await self.write_tools():
            return False
        token = _bearer(scope)
        if token is None:
            return False  # the SDK's own middleware answers 401
        access = await self.provider.load_access_token(token)
        return access is not None and WRITE_SCOPE not in access.scopes

    async def _insufficient(self, send: Send) -> None:
        needed = f"{SCOPE} {WRITE_SCOPE}"
        description = f"This tool changes Cway data and needs the {WRITE_SCOPE} scope"
        challenge = (
            f'Bearer error="insufficient_scope", scope="{needed}", '
            f'error_description="{description}", resource_metadata="{self.resource_metadata_url}"'
        )
        body = json.dumps({"error": "insufficient_scope", "error_description": description}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", challenge.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _bearer(scope: Scope) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if kind.lower() == "bearer" and token.strip() else None
    return None
