"""The browser side of the OAuth proxy: the consent page, and the callback from Entra.

``GET /consent`` shows who is asking (the client's name, id and where it will send the answer)
and binds the request to this browser with a cookie; ``POST /consent`` needs that cookie and the
form's CSRF value, so another site cannot approve for the user (a cross-site POST carries no
``SameSite=Lax`` cookie). Only an approval goes on to Entra, with PKCE and a fresh state.
``GET /oauth/callback`` consumes the pending request by that state (once, on any replica), runs
the daemon's exchange (code → Cway tokens → identity), stores the Cway tokens and sends the
browser back to the MCP client with this server's own one-time code.

Pages never show a code, a token, a state or a verifier; errors are worded for a person.
"""

from __future__ import annotations

import hmac
import html
import logging
import secrets
from typing import Any

from mcp.server.auth.provider import construct_redirect_uri
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from cway_authd.errors import BackendError
from cway_authd.grants import clean_text
from cway_common.clock import Clock

from .audit import AuditSink
from .exchange import CwayExchange
from .oauth_db import OAuthDb, digest, new_secret
from .pg_store import PgTokenStore, account_key
from .provider import CODE_LIFETIME, CwayOAuthProvider
from .settings import RemoteSettings

log = logging.getLogger(__name__)

COOKIE = "cway_mcp_consent"
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
_STYLE = "body{font-family:system-ui,sans-serif;max-width:34em;margin:3em auto;padding:0 1em}button{margin-right:1em}"


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    text = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(text, status_code=status, headers=PAGE_HEADERS)


def _text(message: str) -> str:
    return f"<p>{html.escape(message)}</p>"


class ConsentRoutes:
    def __init__(
        self,
        *,
        settings: RemoteSettings,
        db: OAuthDb,
        store: PgTokenStore,
        provider: CwayOAuthProvider,
        exchange: CwayExchange,
        clock: Clock,
        audit: AuditSink,
    ) -> None:
        self._settings = settings
        self._db = db
        self._store = store
        self._provider = provider
        self._exchange = exchange
        self._clock = clock
        self._audit = audit

    async def consent(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._decide(request)
        handle = request.query_params.get("request", "")
        pending = await self._db.pending(handle, self._clock.now()) if handle else None
        if pending is None:
            return page("Request expired", _text("This authorization request is unknown or expired. Start again."), 400)
        client = await self._provider.get_client(pending["client_id"])
        if client is None:
            return page("Unknown application", _text("The application that sent you here is not registered."), 400)
        browser = secrets.token_urlsafe(24)
        pending["browser"] = digest(browser)
        await self._db.update_pending(handle, pending)
        name = client.client_name or "An application without a name"
        target = pending["redirect_uri"]
        body = (
            f"<p><strong>{html.escape(name)}</strong> wants to use Cway as you, through this server.</p>"
            f"<p>Application id: <code>{html.escape(str(client.client_id))}</code><br>"
            f"It will receive the answer at: <code>{html.escape(target)}</code></p>"
            "<p>Only approve if you started this from an assistant you trust. You will then sign in "
            "with your organisation's account.</p>"
            "<form method='post' action='consent'>"
            f"<input type='hidden' name='request' value='{html.escape(handle)}'>"
            f"<input type='hidden' name='csrf' value='{html.escape(pending['csrf'])}'>"
            "<button type='submit' name='decision' value='approve'>Approve</button>"
            "<button type='submit' name='decision' value='deny'>Deny</button></form>"
        )
        response = page("Allow access to Cway?", body)
        response.set_cookie(
            COOKIE, browser, max_age=600, httponly=True, samesite="lax", secure=self._settings.secure_cookies, path="/"
        )
        return response

    async def _decide(self, request: Request) -> Response:
        form = await request.form()
        handle, csrf, decision = (str(form.get(k, "")) for k in ("request", "csrf", "decision"))
        pending = await self._db.pending(handle, self._clock.now()) if handle else None
        if pending is None:
            return page("Request expired", _text("This authorization request is unknown or expired. Start again."), 400)
        cookie = request.cookies.get(COOKIE, "")
        same_browser = bool(pending.get("browser")) and hmac.compare_digest(digest(cookie), pending["browser"])
        if not same_browser or not hmac.compare_digest(csrf.encode(), pending["csrf"].encode()):
            return page("Not allowed", _text("This approval did not come from the consent page. Start again."), 403)
        if decision != "approve":
            await self._db.delete_pending(handle)
            self._audit.event("consent", client_id=pending["client_id"], decision="denied")
            return self._back_to_client(pending, error="access_denied", description="the user denied access")
        flow = self._exchange.new_flow()
        pending.update(entra_state=flow.state, nonce=flow.nonce, code_verifier=flow.code_verifier)
        if not await self._db.update_pending(handle, pending, entra_state=flow.state):
            return page("Request expired", _text("This authorization request was already used. Start again."), 400)
        try:
            url = await self._exchange.authorization_url(flow)
        except BackendError as exc:
            return page("Sign-in unavailable", _text(f"The identity provider cannot be reached: {exc}."), 503)
        self._audit.event("consent", client_id=pending["client_id"], decision="approved")
        response = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
        response.delete_cookie(COOKIE, path="/")
        return response

    async def callback(self, request: Request) -> Response:
        params = request.query_params
        state = params.get("state", "")
        pending = await self._db.take_pending_by_state(state, self._clock.now()) if state else None
        if pending is None:
            return page(
                "Sign-in not completed",
                _text("This sign-in is unknown, expired or already used. Start again from your assistant."),
                400,
            )
        error = params.get("error")
        if error:
            self._audit.event("sign_in_failed", client_id=pending["client_id"], reason="idp_error")
            description = clean_text(params.get("error_description"), 200) or "the identity provider refused"
            return self._back_to_client(pending, error="access_denied", description=description)
        code = params.get("code")
        if not code:
            return self._back_to_client(pending, error="server_error", description="no authorization code")
        flow = self._exchange.restore_flow(
            state=pending["entra_state"], nonce=pending["nonce"], code_verifier=pending["code_verifier"]
        )
        try:
            record = await self._exchange.sign_in(flow, code)
            await self._store.save(record)
        except BackendError as exc:
            self._audit.event("sign_in_failed", client_id=pending["client_id"], reason="backend", error=str(exc))
            return self._back_to_client(pending, error="server_error", description=f"sign-in failed: {exc}")
        subject = account_key(record.username)
        ours = new_secret("cwm_ac_")
        await self._db.add_code(
            ours,
            pending["client_id"],
            subject,
            {k: pending[k] for k in ("scopes", "code_challenge", "redirect_uri", "redirect_uri_provided_explicitly")}
            | {"resource": pending["resource"]},
            self._clock.now() + CODE_LIFETIME,
        )
        self._audit.event("sign_in_completed", account=record.username, client_id=pending["client_id"])
        return RedirectResponse(
            construct_redirect_uri(pending["redirect_uri"], code=ours, state=pending.get("state")),
            status_code=302,
            headers={"Cache-Control": "no-store"},
        )

    def _back_to_client(self, pending: dict[str, Any], *, error: str, description: str) -> Response:
        url = construct_redirect_uri(
            pending["redirect_uri"], error=error, error_description=description, state=pending.get("state")
        )
        return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
