"""The emulated Cway backend: ``POST /oauth/token`` and ``POST /graphql`` on its own port.

``grant_type=azure`` does what Cway does (per the public contract): redeem the Entra code at
the IdP's token endpoint **over real HTTP**, ask Graph ``/v1.0/me`` who it is, map that to a
Cway user, and issue Cway's own tokens. The form must carry ``token`` (the code), ``state``,
``code_verifier`` and ``redirect_uri``; ``client_id`` is optional and defaults to the daemon's
public client (see ``idp_core`` for the binding rule). If it names the confidential Cway app,
the backend adds its own client secret.

Error mapping: IdP 4xx -> 400 ``invalid_grant`` carrying the IdP's AADSTS description;
IdP unreachable/5xx/429 -> 502 ``server_error``; signed in but not a Cway user -> 403
``access_denied``. GraphQL answers 401 ``{"errors":[{"message":"Unauthorized"}]}`` for any
unusable bearer. Subscriptions (the AI answers) run over a WebSocket on the same ``/graphql``
path (``graphql_ws.py``), with the same bearer rules.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse, Response

from cway_emulator.cway_core import CwayTokenError, Unauthorized
from cway_emulator.emulator import CWAY_CLIENT_ID, Emulator
from cway_emulator.gql_context import Ctx
from cway_emulator.graphql_api import execute_request
from cway_emulator.graphql_ws import serve_graphql_ws
from cway_emulator.http_common import QuietLogMiddleware, base_app, gate, log
from cway_emulator.jwt_keys import tls_context

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
UNAUTHORIZED = {"errors": [{"message": "Unauthorized"}]}


async def _redeem_at_idp(emu: Emulator, form: dict[str, str]) -> dict[str, Any]:
    client_id = form.get("client_id") or emu.client_id
    data = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "code": form["token"],
        "code_verifier": form["code_verifier"],
        "redirect_uri": form["redirect_uri"],
    }
    if client_id == CWAY_CLIENT_ID:
        data["client_secret"] = emu.cway_client_secret
    timeout = httpx.Timeout(emu.knobs.cway_idp_timeout)
    try:
        async with httpx.AsyncClient(timeout=timeout, trust_env=False, verify=tls_context()) as http:
            resp = await http.post(emu.idp_token_url, data=data)
            if resp.status_code in (400, 401):
                desc = _json(resp).get("error_description") or "The identity provider rejected the code"
                raise CwayTokenError("invalid_grant", str(desc))
            if resp.status_code != 200:
                raise CwayTokenError("server_error", f"Identity provider answered HTTP {resp.status_code}", 502)
            access = str(_json(resp).get("access_token", ""))
            me = await http.get(emu.graph_me_url, headers={"Authorization": f"Bearer {access}"})
            if me.status_code != 200:
                raise CwayTokenError("server_error", f"Microsoft Graph answered HTTP {me.status_code}", 502)
            return _json(me)
    except httpx.HTTPError as exc:
        raise CwayTokenError("server_error", f"Identity provider unreachable ({type(exc).__name__})", 502) from exc


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        data = resp.json()
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


async def _azure(emu: Emulator, form: dict[str, str]) -> dict[str, Any]:
    missing = [f for f in ("token", "state", "code_verifier", "redirect_uri") if not form.get(f)]
    if missing:
        raise CwayTokenError("invalid_request", f"Missing required parameter(s): {', '.join(missing)}")
    me = await _redeem_at_idp(emu, form)
    email = str(me.get("mail") or me.get("userPrincipalName") or "")
    user = emu.cway.usable_user(email)
    if user is None:
        raise CwayTokenError("access_denied", f"No active Cway user for {email or 'this account'}", 403)
    return emu.cway.issue(user)


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
                body = await _azure(emu, form)
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
            return JSONResponse(UNAUTHORIZED, 401, {"WWW-Authenticate": "Bearer"})
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

    @app.get("/graphql")
    def graphql_get() -> Response:
        return JSONResponse({"errors": [{"message": "Use POST with a JSON body"}]}, 405, {"Allow": "POST"})

    @app.websocket("/graphql")
    async def graphql_ws(websocket: WebSocket) -> None:
        await serve_graphql_ws(emu, websocket)

    app.add_middleware(QuietLogMiddleware, name="cway")
    return app
