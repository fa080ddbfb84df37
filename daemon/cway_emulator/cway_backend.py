"""The emulated Cway backend: ``POST /oauth/token`` and ``POST /graphql`` on its own port.

``grant_type=azure`` takes one exchange shape at a time (the ``cway_exchange_token`` knob): the
Entra code, a Graph access token or an ID token, each checked strictly and over real HTTP (see
``cway_exchange``); then it issues Cway's own tokens. The token answer carries ``access_token``,
``refresh_token``, ``expires_in`` and ``token_type`` only (``refresh_expires_in`` behind the
``cway_refresh_expires_in`` knob: it is not known to exist in the real Cway). GraphQL answers 401 ``{"errors":[{"message":"Unauthorized"}]}`` for any
unusable bearer. Subscriptions (the AI answers) run over a WebSocket on the same ``/graphql``
path (``graphql_ws.py``), with the same bearer rules.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse, Response

from cway_emulator.cway_core import CwayTokenError, Unauthorized
from cway_emulator.cway_exchange import azure_exchange
from cway_emulator.emulator import Emulator
from cway_emulator.gql_context import Ctx
from cway_emulator.graphql_api import execute_request
from cway_emulator.graphql_ws import serve_graphql_ws
from cway_emulator.http_common import QuietLogMiddleware, base_app, gate, graphql_unauthorized, log
from cway_emulator.previews import download_signature, find_preview, preview_png
from cway_emulator.resolvers_uploads import UploadRefused, accept_upload, store_upload

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
UNAUTHORIZED = {"errors": [{"message": "Unauthorized"}]}


def create_cway_app(emu: Emulator) -> FastAPI:
    app = base_app(emu, "Emulated Cway backend")

    @app.post("/oauth/token")
    async def oauth_token(request: Request) -> Response:
        with emu.counters.gauge("cway_token"):  # cway_token_peak: the most token calls at once
            return await token_endpoint(request)

    async def token_endpoint(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        grant_type = form.get("grant_type", "")
        if grant_type in ("azure", "refresh_token"):
            emu.counters.incr("cway_token_azure" if grant_type == "azure" else "cway_token_refresh")
        if (injected := await gate(emu, "cway_token", "cway_token")) is not None:
            return injected
        try:
            if grant_type == "azure":
                body = await azure_exchange(emu, form)
            elif grant_type == "refresh_token":
                if not form.get("refresh_token"):
                    raise CwayTokenError("invalid_request", "Missing required parameter: refresh_token")
                body = emu.cway.redeem_refresh(form["refresh_token"])
            else:
                raise CwayTokenError("unsupported_grant_type", f"Unsupported grant_type {grant_type!r}")
        except CwayTokenError as err:
            emu.counters.incr("cway_token_rejected")
            log.info("cway token %s rejected: %s", grant_type or "-", err.error)
            return JSONResponse(err.body(), err.status, NO_STORE)
        return JSONResponse(body, 200, NO_STORE)

    @app.post("/graphql")
    async def graphql(request: Request) -> Response:
        emu.counters.incr("graphql")
        if (injected := await gate(emu, "graphql", "graphql")) is not None:
            return injected
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("missing bearer")
            user = emu.cway.authenticate(token.strip())
        except Unauthorized as exc:
            emu.counters.incr("graphql_unauthorized")
            log.info("graphql unauthorized: %s", exc)
            try:
                query = (await request.json()).get("query")
            except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
                query = None
            return graphql_unauthorized(emu, query if isinstance(query, str) else None)
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        ctx = Ctx(user=user, store=emu.store, clock=emu.clock, base_url=emu.cway_base_url, knobs=emu.knobs)
        with emu.store.lock:
            status, payload, rejected = execute_request(body, ctx)
        if rejected:
            emu.counters.incr("graphql_invalid")
        return JSONResponse(payload, status)

    @app.put("/_emulator/upload/{file_id}")
    async def upload(file_id: str, request: Request) -> Response:
        """The presigned PUT of ``tempFileUploadUrl`` (resolvers_uploads.py): an object store's rules."""
        emu.counters.incr("upload")
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            pending = accept_upload(
                emu.store, int(emu.clock.now().timestamp()), file_id, dict(request.query_params), headers
            )
            body = await request.body()
            if len(body) != int(headers["content-length"]):
                raise UploadRefused(400, "IncompleteBody", "the body is shorter than Content-Length")
        except UploadRefused as refused:
            emu.counters.incr("upload_refused")
            return Response(
                f"<Error><Code>{refused.code}</Code><Message>{refused}</Message></Error>",
                refused.status,
                media_type="application/xml",
            )
        store_upload(emu.store, int(emu.clock.now().timestamp() * 1000), pending, body)
        return Response(status_code=200, headers={"ETag": f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'})

    @app.get("/_emulator/download/{file_id}/{name}")
    def download(request: Request, file_id: str, name: str, expires: int = 0, sig: str = "") -> Response:
        """A ``tempFileDownloadUrl``: needs the bearer of the user it was signed for, before it expires.
        Only previews have bytes here; other files answer 404 (their content is not modelled)."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("missing bearer")
            user = emu.cway.authenticate(token.strip())
        except Unauthorized:
            return JSONResponse({"error": "Unauthorized"}, 401)
        want = download_signature(file_id.lower(), expires, str(user["username"]))
        if expires < emu.clock.now().timestamp():
            return JSONResponse({"error": "expired"}, 403)
        if not hmac.compare_digest(sig.encode(), want.encode()):
            return JSONResponse({"error": "bad signature"}, 403)
        with emu.store.lock:
            preview = find_preview(emu.store.artworks, file_id)
        if preview is None:
            return JSONResponse({"error": "no content"}, 404)
        emu.counters.incr("preview_download")
        body = preview_png(preview["_artwork"])
        return Response(body, 200, {"Content-Type": "image/png", **NO_STORE})

    @app.get("/graphql")
    def graphql_get() -> Response:
        return JSONResponse({"errors": [{"message": "Use POST with a JSON body"}]}, 405, {"Allow": "POST"})

    @app.websocket("/graphql")
    async def graphql_ws(websocket: WebSocket) -> None:
        await serve_graphql_ws(emu, websocket)

    app.add_middleware(QuietLogMiddleware, name="cway")
    return app
