"""HTTP pieces both apps share: latency/failure gate, secret-free logging, admin routes.

Logging records method, path and status only. Query strings are never logged because the
authorize redirect and callbacks carry codes; bodies never, because they carry tokens.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cway_contract import ManualClock
from cway_emulator.emulator import Emulator
from cway_emulator.idp_core import EntraError
from cway_emulator.knobs import KnobError

log = logging.getLogger("cway_emulator")

Shape = Literal["entra", "cway_token", "graphql", "graph"]


async def gate(emu: Emulator, group: str, shape: Shape) -> Response | None:
    """Apply the group's added latency and, if one is queued, an injected failure."""
    delay = emu.knobs.latency_for(group)
    if delay > 0:
        await asyncio.sleep(delay)
    rule = emu.knobs.take_failure(group)
    if rule is None:
        return None
    emu.counters.incr("injected_failures")
    if rule.mode == "hang":
        await asyncio.sleep(emu.knobs.hang_seconds)
        return JSONResponse({"error": "gateway_timeout"}, status_code=504)
    headers = {}
    if rule.mode == "429":
        headers["Retry-After"] = str(rule.retry_after if rule.retry_after is not None else 1)
    elif rule.retry_after is not None:
        headers["Retry-After"] = str(rule.retry_after)
    if shape == "graphql" and rule.mode in ("401", "invalid_grant"):
        return graphql_unauthorized(emu, None)
    if rule.mode == "invalid_grant":
        if shape == "entra":
            err = EntraError("invalid_grant", 70000, "Injected failure: the provided grant is invalid.")
            return JSONResponse(err.body(emu.clock.now()), 400)
        return JSONResponse({"error": "invalid_grant", "error_description": "Injected failure"}, 400)
    status = int(rule.mode)
    if shape == "graphql":
        body: dict[str, Any] = {"errors": [{"message": f"Injected HTTP {status}"}]}
    elif shape == "graph":
        body = {"error": {"code": "ServiceUnavailable", "message": f"Injected HTTP {status}"}}
    else:
        error = "temporarily_unavailable" if status in (429, 503) else "server_error"
        if status == 401:
            error = "invalid_client"
        body = {"error": error, "error_description": f"Injected HTTP {status}"}
    return JSONResponse(body, status, headers)


def graphql_unauthorized(emu: Emulator, query: str | None) -> JSONResponse:
    """How Cway's GraphQL refuses a bearer, per the ``cway_unauthenticated`` knob (HTTP 401 by default)."""
    mode = emu.knobs.cway_unauthenticated
    if mode == "null_login_info" and query is not None and "loginInfo" in query:
        return JSONResponse({"data": {"loginInfo": None}}, 200)
    if mode != "401":
        error = {"message": "Not authenticated", "extensions": {"code": "UNAUTHENTICATED"}}
        return JSONResponse({"errors": [error], "data": None}, 200)
    return JSONResponse({"errors": [{"message": "Unauthorized"}]}, 401, {"WWW-Authenticate": "Bearer"})


class QuietLogMiddleware:
    """Log ``METHOD /path -> status`` per request; nothing that could hold a secret."""

    def __init__(self, app: ASGIApp, name: str) -> None:
        self.app, self.name = app, name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        logged = False

        def line(status: int) -> None:
            nonlocal logged
            if not logged:
                logged = True
                log.info("%s %s %s -> %s", self.name, scope["method"], scope["path"], status)

        async def record(message: Message) -> None:
            # Logged *before* the response leaves: a client (or a test reading the log) that has
            # the answer can rely on the line being there already.
            if message["type"] == "http.response.start":
                line(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            line(500)  # the app failed before it answered


def admin_router(emu: Emulator) -> APIRouter:
    """``/_emulator/*``: the same knobs/counters/reset over HTTP (mounted on both apps)."""
    router = APIRouter(prefix="/_emulator")

    @router.get("/knobs")
    def get_knobs() -> dict[str, Any]:
        return emu.knobs.snapshot()

    @router.post("/knobs")
    async def set_knobs(request: Request) -> Response:
        try:
            changes = await request.json()
            if not isinstance(changes, dict):
                raise KnobError("body must be a JSON object")
            for username in changes.pop("revoke_users", []):
                emu.revoke_user(str(username))
            emu.knobs.update(changes)
        except (KnobError, ValueError) as exc:
            return JSONResponse({"error": "invalid_knob", "error_description": str(exc)}, 400)
        return JSONResponse(emu.knobs.snapshot())

    @router.get("/counters")
    def get_counters() -> dict[str, int]:
        return emu.counters.snapshot()

    @router.post("/reset")
    def reset() -> dict[str, str]:
        emu.reset()
        return {"status": "reset"}

    @router.post("/revoke")
    async def revoke(request: Request) -> dict[str, str]:
        body = await request.json()
        emu.revoke_user(str(body["username"]))
        return {"status": "revoked"}

    @router.post("/static-tokens")
    async def static_token(request: Request) -> Response:
        body = await request.json()
        try:
            token = emu.issue_static_token(str(body.get("username", "")))
        except KeyError as exc:
            return JSONResponse({"error": "unknown_user", "error_description": str(exc)}, 404)
        return JSONResponse({"token": token})

    @router.post("/redirect-uris")
    async def redirect_uri(request: Request) -> dict[str, str]:
        body = await request.json()
        emu.register_redirect_uri(str(body["uri"]))
        return {"status": "registered"}

    @router.post("/clock/advance")
    async def advance(request: Request) -> Response:
        if not isinstance(emu.clock, ManualClock):
            return JSONResponse({"error": "clock_not_manual"}, 409)
        body = await request.json()
        now = emu.clock.advance(float(body.get("seconds", 0)))
        return JSONResponse({"now": now.isoformat()})

    return router


def base_app(emu: Emulator, title: str) -> FastAPI:
    app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(admin_router(emu))
    return app
