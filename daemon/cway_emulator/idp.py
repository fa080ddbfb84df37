"""The Entra-ID-like OIDC provider as a FastAPI app (its own loopback port).

Paths mirror login.microsoftonline.com (``/{tenant}/v2.0/.well-known/openid-configuration``,
``/{tenant}/oauth2/v2.0/authorize|token|logout``, ``/{tenant}/discovery/v2.0/keys``) plus the
two Graph endpoints clients use to learn who signed in: ``/oidc/userinfo`` and ``/v1.0/me``.
The rules themselves live in ``idp_core``; this module only speaks HTTP and HTML.
"""

from __future__ import annotations

import base64
import html
from typing import Any
from urllib.parse import unquote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from cway_emulator.emulator import Emulator
from cway_emulator.http_common import QuietLogMiddleware, base_app, gate
from cway_emulator.idp_core import AuthRequest, EntraError, PageError, RedirectError, s256, with_query
from cway_emulator.jwt_keys import TokenInvalid, idp_signing_key, jwks_document

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    t = html.escape(title)
    doc = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{t}</title></head>"
        f"<body style='font-family:sans-serif;max-width:32em;margin:3em auto'><h1>{t}</h1>{body}</body></html>"
    )
    return HTMLResponse(doc, status_code=status, headers=NO_STORE)


def _error_page(err: EntraError) -> HTMLResponse:
    body = f"<p id='error' data-error='{html.escape(err.error)}'>AADSTS{err.code}: {html.escape(err.message)}</p>"
    return _page("Sign in - error", body, 400)


def _sign_in_form(emu: Emulator, req: AuthRequest, txn: str, action: str, notice: str = "") -> HTMLResponse:
    client = emu.idp.clients[req.client_id]
    users = "".join(f"<option value='{html.escape(u)}'>" for u in sorted(emu.store.directory))
    body = (
        f"<p>{html.escape(client.name)} wants to sign you in ({html.escape(' '.join(req.scopes))}).</p>"
        + (f"<p id='error'>{html.escape(notice)}</p>" if notice else "")
        + f"<form method='post' action='{html.escape(action)}'>"
        f"<input type='hidden' name='txn' value='{html.escape(txn)}'>"
        "<label>Username <input name='username' list='users' autocomplete='username' "
        f"value='{html.escape(req.login_hint or '')}'></label><datalist id='users'>{users}</datalist>"
        "<p><button type='submit' name='action' value='approve'>Approve</button> "
        "<button type='submit' name='action' value='deny'>Deny</button></p></form>"
    )
    return _page("Sign in to the emulated Entra ID", body)


def _basic_auth(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip()).decode()
    except ValueError:
        return ("", "")
    client_id, _, secret = raw.partition(":")
    return unquote(client_id), unquote(secret)


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def create_idp_app(emu: Emulator) -> FastAPI:
    app = base_app(emu, "Emulated Entra ID")
    core = emu.idp

    def wrong_tenant(tenant: str) -> JSONResponse | None:
        if core.resolve_authority(tenant) is not None:
            return None
        err = EntraError("invalid_tenant", 90002, f"Tenant '{tenant}' not found.")
        return JSONResponse(err.body(emu.clock.now()), 400)

    @app.get("/{tenant}/v2.0/.well-known/openid-configuration")
    def discovery(tenant: str) -> Response:
        emu.counters.incr("idp_discovery")
        if (bad := wrong_tenant(tenant)) is not None:
            return bad
        tenant_id = core.resolve_authority(tenant)
        tenant_base = f"{emu.idp_url}/{tenant}"
        # organizations/common: the issuer is a template, filled from each token's tid (as in Entra).
        issuer = core.issuer_for(tenant_id) if tenant_id else f"{emu.idp_url}/{{tenantid}}/v2.0"
        doc: dict[str, Any] = {
            "issuer": issuer,
            "authorization_endpoint": f"{tenant_base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{tenant_base}/oauth2/v2.0/token",
            "jwks_uri": f"{tenant_base}/discovery/v2.0/keys",
            "userinfo_endpoint": f"{emu.idp_url}/oidc/userinfo",
            "end_session_endpoint": f"{tenant_base}/oauth2/v2.0/logout",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": "sub iss aud exp iat nbf name nonce oid tid preferred_username email ver".split(),
            "request_uri_parameter_supported": False,
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "msgraph_host": emu.idp_url.split("://", 1)[1],
        }
        if emu.knobs.idp_revocation:
            doc["revocation_endpoint"] = f"{tenant_base}/oauth2/v2.0/revoke"
        return JSONResponse(doc)

    @app.get("/{tenant}/discovery/v2.0/keys")
    def keys(tenant: str) -> Response:
        emu.counters.incr("idp_jwks")
        return wrong_tenant(tenant) or JSONResponse(jwks_document(idp_signing_key()))

    @app.get("/{tenant}/oauth2/v2.0/authorize")
    async def authorize(tenant: str, request: Request) -> Response:
        emu.counters.incr("idp_authorize")
        if (injected := await gate(emu, "idp_authorize", "entra")) is not None:
            return injected
        authority_tenant = core.resolve_authority(tenant)
        if authority_tenant is None:
            return _error_page(PageError("invalid_tenant", 90002, f"Tenant '{tenant}' not found."))
        try:
            core.check_multi_tenant(authority_tenant, page=True)
            req = core.begin_authorize(request.query_params)
            req.authority_tenant = authority_tenant
        except RedirectError as err:
            return RedirectResponse(err.location, 302)
        except PageError as err:
            return _error_page(err)
        if emu.knobs.auto_approve:
            emu.counters.incr("idp_authorize_approved")
            return RedirectResponse(core.approve(req, None), 302)
        return _sign_in_form(emu, req, core.hold(req), request.url.path)

    @app.post("/{tenant}/oauth2/v2.0/authorize")
    async def authorize_submit(tenant: str, request: Request) -> Response:
        form = await request.form()
        try:
            req = core.resume(str(form.get("txn", "")))
        except PageError as err:
            return _error_page(err)
        if form.get("action") == "deny":
            emu.counters.incr("idp_authorize_denied")
            denied = RedirectError("access_denied", 65004, "User declined to consent to access the app.")
            return RedirectResponse(req.error_location(denied), 302)
        username = str(form.get("username", "")).strip() or req.login_hint
        if emu.store.directory_user(username) is None:
            notice = "AADSTS50034: We couldn't find an account with that username."
            return _sign_in_form(emu, req, core.hold(req), request.url.path, notice)
        emu.counters.incr("idp_authorize_approved")
        return RedirectResponse(core.approve(req, username), 302)

    @app.post("/{tenant}/oauth2/v2.0/token")
    async def token(tenant: str, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        grant_type = form.get("grant_type", "")
        emu.counters.incr("idp_token_refresh" if grant_type == "refresh_token" else "idp_token_code")
        if (injected := await gate(emu, "idp_token", "entra")) is not None:
            return injected
        if (bad := wrong_tenant(tenant)) is not None:
            return bad
        try:
            core.check_multi_tenant(core.resolve_authority(tenant) or "")
            body = core.token(form, _basic_auth(request))
        except EntraError as err:
            emu.counters.incr("idp_token_rejected")
            return JSONResponse(err.body(emu.clock.now()), err.status, NO_STORE)
        return JSONResponse(body, 200, NO_STORE)

    @app.post("/{tenant}/oauth2/v2.0/revoke")
    async def revoke(tenant: str, request: Request) -> Response:
        if not emu.knobs.idp_revocation:
            return JSONResponse({"error": "not_found"}, 404)
        emu.counters.incr("idp_revoke")
        form = await request.form()
        core.revoke_token(str(form.get("token", "")))
        return Response(status_code=200)

    @app.get("/{tenant}/oauth2/v2.0/logout")
    def logout(tenant: str, request: Request) -> Response:
        emu.counters.incr("idp_logout")
        target = request.query_params.get("post_logout_redirect_uri")
        registered = {u for c in core.clients.values() for u in c.redirect_uris}
        if target and target in registered:
            return RedirectResponse(with_query(target, {}, request.query_params.get("state")), 302)
        return _page("Signed out", "<p>You have signed out of your account.</p>")

    async def identify(request: Request, graph: bool) -> tuple[dict[str, Any], dict[str, Any]] | Response:
        if (injected := await gate(emu, "idp_userinfo", "graph" if graph else "entra")) is not None:
            return injected
        token = _bearer(request)
        try:
            if token is None:
                raise TokenInvalid("Access token is empty.")
            return core.user_for_access_token(token)
        except TokenInvalid as exc:
            headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            if graph:
                body = {"error": {"code": "InvalidAuthenticationToken", "message": str(exc)}}
                return JSONResponse(body, 401, headers)
            return JSONResponse({"error": "invalid_token", "error_description": str(exc)}, 401, headers)

    @app.api_route("/oidc/userinfo", methods=["GET", "POST"])
    async def userinfo(request: Request) -> Response:
        emu.counters.incr("idp_userinfo")
        found = await identify(request, graph=False)
        if isinstance(found, Response):
            return found
        user, claims = found
        return JSONResponse(
            {
                "sub": s256(user["oid"] + str(claims.get("appid")))[:43],
                "name": user["displayName"],
                "given_name": user["givenName"],
                "family_name": user["surname"],
                "email": user["mail"],
                "picture": f"{emu.idp_url}/v1.0/me/photo/$value",
            }
        )

    @app.get("/v1.0/me")
    async def graph_me(request: Request) -> Response:
        emu.counters.incr("idp_graph_me")
        found = await identify(request, graph=True)
        if isinstance(found, Response):
            return found
        user, claims = found
        if "user.read" not in str(claims.get("scp", "")).lower().split():
            body = {"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges."}}
            return JSONResponse(body, 403)
        return JSONResponse(
            {
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
                "id": user["oid"],
                "displayName": user["displayName"],
                "givenName": user["givenName"],
                "surname": user["surname"],
                "mail": user["mail"],
                "userPrincipalName": user["upn"],
                "businessPhones": [],
                "jobTitle": None,
            }
        )

    app.add_middleware(QuietLogMiddleware, name="idp")
    return app
