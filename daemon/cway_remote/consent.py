"""The browser side of the OAuth proxy: Entra sign-in first, then the consent page (unless remembered).

The order matters: a remembered consent belongs to a *user*, and the server only knows who the
user is once Entra (and Cway's ``loginInfo``) said so. So:

1. ``GET /consent?request=…`` (where ``/authorize`` sends the browser) binds the request to this
   browser with a ``SameSite=Lax``, ``HttpOnly`` cookie and sends it to Entra (PKCE, fresh state).
2. ``GET /oauth/callback`` consumes the pending request by that state (once, on any replica), and
   refuses it unless it comes back to the browser that started it (the cookie: a Lax cookie rides
   on Entra's top-level redirect, not on anything another site could make a browser send). It
   runs the daemon's exchange (code → Cway tokens → identity). If this user has an unexpired
   remembered consent for exactly this client, redirect URI and scopes (:mod:`consents`), the
   Cway tokens are stored and the client gets its code at once. Otherwise the Cway tokens are
   kept only inside the (encrypted, 10-minute) pending request and the browser is sent to the
   consent page.
3. The consent page names the signed-in user, the client, its id and where the answer goes.
   ``POST /consent`` needs the same cookie and the form's CSRF value, so another site cannot
   approve for the user. Only an approval stores the Cway tokens, remembers the consent
   (``CWAY_MCP_CONSENT_DAYS``; 0 = never) and sends this server's one-time code to the client; a
   denial stores nothing.

A client that is unknown or denied (``admin deny``) when the browser reaches ``/consent``, the Entra
callback (checked before the Cway exchange) or the approval is refused there with a page, and
nothing is sent to its redirect URI.

No code reaches a client the user has not approved (now, or within the remembered period): the
confused-deputy protection of an OAuth proxy with one static Entra app for every MCP client.
Pages never show a code, a token, a state or a verifier; errors are worded for a person.
"""

from __future__ import annotations

import hmac
import html
import logging
import secrets
from datetime import timedelta
from typing import Any

from mcp.server.auth.provider import construct_redirect_uri
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from cway_auth_core import BackendError, TokenRecord, clean_text
from cway_contract import Clock
from cway_remote.audit import AuditSink
from cway_remote.consents import ConsentDb
from cway_remote.exchange import CwayExchange
from cway_remote.iss import with_iss
from cway_remote.oauth_db import OAuthDb, digest, new_secret
from cway_remote.pg_store import PgTokenStore, account_key
from cway_remote.provider import CODE_LIFETIME, PENDING_LIFETIME, CwayOAuthProvider
from cway_remote.settings import RemoteSettings

log = logging.getLogger(__name__)

COOKIE = "cway_mcp_consent"
#: On https the cookie is a ``__Host-`` cookie: no sibling subdomain can set (toss) it for this host.
SECURE_COOKIE = "__Host-cway_mcp_consent"
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
_STYLE = "body{font-family:system-ui,sans-serif;max-width:34em;margin:3em auto;padding:0 1em}button{margin-right:1em}"
_EXPIRED = "This authorization request is unknown or expired. Start again from your assistant."
_OTHER_BROWSER = "This sign-in was not started in this browser. Start again from your assistant."
_UNKNOWN_CLIENT = "The application that sent you here is not registered, or an administrator blocked it."


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    text = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(text, status_code=status, headers=PAGE_HEADERS)


def _text(message: str) -> str:
    return f"<p>{html.escape(message)}</p>"


def _same_browser(request: Request, pending: dict[str, Any], name: str) -> bool:
    cookie = request.cookies.get(name, "")
    return bool(cookie and pending.get("browser")) and hmac.compare_digest(digest(cookie), pending["browser"])


class ConsentRoutes:
    def __init__(
        self,
        *,
        settings: RemoteSettings,
        db: OAuthDb,
        consents: ConsentDb,
        store: PgTokenStore,
        provider: CwayOAuthProvider,
        exchange: CwayExchange,
        clock: Clock,
        audit: AuditSink,
    ) -> None:
        self._settings = settings
        self._db = db
        self._consents = consents
        self._store = store
        self._provider = provider
        self._exchange = exchange
        self._clock = clock
        self._audit = audit
        self._cookie = SECURE_COOKIE if settings.secure_cookies else COOKIE

    async def consent(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._decide(request)
        handle = request.query_params.get("request", "")
        pending = await self._db.pending(handle, self._clock.now()) if handle else None
        if pending is None:
            return page("Request expired", _text(_EXPIRED), 400)
        if "subject" in pending:  # signed in, no remembered consent: the page itself (also on reload)
            if not _same_browser(request, pending, self._cookie):
                return page("Not allowed", _text(_OTHER_BROWSER), 403)
            return await self._consent_page(handle, pending)
        return await self._to_entra(request, handle, pending)

    async def _to_entra(self, request: Request, handle: str, pending: dict[str, Any]) -> Response:
        """Bind the request to this browser, then sign in at Entra (the user must be known before a
        remembered consent can apply)."""
        if await self._provider.get_client(pending["client_id"]) is None:
            return page("Unknown application", _text(_UNKNOWN_CLIENT), 400)
        browser = request.cookies.get(self._cookie, "")
        if len(browser) < 32:  # reuse this browser's value: two sign-ins at once both stay bound to it
            browser = secrets.token_urlsafe(24)
        flow = self._exchange.new_flow()
        pending.update(
            browser=digest(browser), entra_state=flow.state, nonce=flow.nonce, code_verifier=flow.code_verifier
        )
        if not await self._db.update_pending(handle, pending, entra_state=flow.state):
            return page("Request expired", _text("This authorization request was already used. Start again."), 400)
        try:
            url = await self._exchange.authorization_url(flow)
        except BackendError as exc:
            return page("Sign-in unavailable", _text(f"The identity provider cannot be reached: {exc}."), 503)
        response = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
        response.set_cookie(
            self._cookie,
            browser,
            max_age=900,
            httponly=True,
            samesite="lax",
            secure=self._settings.secure_cookies,
            path="/",
        )
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
        if not _same_browser(request, pending, self._cookie):
            self._audit.event("sign_in_failed", client_id=pending["client_id"], reason="other_browser")
            return page("Not allowed", _text(_OTHER_BROWSER), 403)
        if await self._provider.get_client(pending["client_id"]) is None:  # denied since /consent: nothing more
            return page("Unknown application", _text(_UNKNOWN_CLIENT), 400)
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
        except BackendError as exc:
            self._audit.event("sign_in_failed", client_id=pending["client_id"], reason="backend", error=str(exc))
            return self._back_to_client(pending, error="server_error", description=f"sign-in failed: {exc}")
        subject = account_key(record.username)
        for name in ("entra_state", "nonce", "code_verifier"):
            pending.pop(name, None)
        remembered = self._settings.consent_days > 0 and await self._consents.remembered(
            subject=subject,
            client_id=pending["client_id"],
            redirect_uri=pending["redirect_uri"],
            scopes=pending["scopes"],
            now=self._clock.now(),
        )
        if remembered:
            self._audit.event("consent", client_id=pending["client_id"], account=record.username, decision="remembered")
            return await self._grant(pending, record)
        handle = secrets.token_urlsafe(32)
        pending.update(
            subject=subject,
            username=record.username,
            record=record.to_json_bytes().decode(),
            csrf=secrets.token_urlsafe(24),
        )
        await self._db.add_pending(handle, pending, self._clock.now() + PENDING_LIFETIME)
        return RedirectResponse(
            f"{self._settings.public_url}/consent?request={handle}",
            status_code=303,
            headers={"Cache-Control": "no-store"},
        )

    async def _consent_page(self, handle: str, pending: dict[str, Any]) -> Response:
        client = await self._provider.get_client(pending["client_id"])
        if client is None:
            return page("Unknown application", _text(_UNKNOWN_CLIENT), 400)
        name = client.client_name or "An application without a name"
        days = self._settings.consent_days
        remember = (
            f"Your approval is remembered for {days} days for this application and this address; "
            "you are asked again if either changes."
            if days > 0
            else "You are asked every time."
        )
        body = (
            f"<p>Signed in as <strong>{html.escape(pending['username'])}</strong>.</p>"
            f"<p><strong>{html.escape(name)}</strong> wants to use Cway as you, through this server.</p>"
            f"<p>Application id: <code>{html.escape(str(client.client_id))}</code><br>"
            f"It will receive the answer at: <code>{html.escape(pending['redirect_uri'])}</code></p>"
            f"<p>Only approve if you started this from an assistant you trust. {html.escape(remember)}</p>"
            "<form method='post' action='consent'>"
            f"<input type='hidden' name='request' value='{html.escape(handle)}'>"
            f"<input type='hidden' name='csrf' value='{html.escape(pending['csrf'])}'>"
            "<button type='submit' name='decision' value='approve'>Approve</button>"
            "<button type='submit' name='decision' value='deny'>Deny</button></form>"
        )
        return page("Allow access to Cway?", body)

    async def _decide(self, request: Request) -> Response:
        form = await request.form()
        handle, csrf, decision = (str(form.get(k, "")) for k in ("request", "csrf", "decision"))
        pending = await self._db.pending(handle, self._clock.now()) if handle else None
        if pending is None or "subject" not in pending:
            return page("Request expired", _text(_EXPIRED), 400)
        if not _same_browser(request, pending, self._cookie) or not hmac.compare_digest(
            csrf.encode(), pending["csrf"].encode()
        ):
            return page("Not allowed", _text("This approval did not come from the consent page. Start again."), 403)
        pending = await self._db.take_pending(handle, self._clock.now())  # single use, on every replica
        if pending is None:
            return page("Request expired", _text("This authorization request was already answered."), 400)
        if await self._provider.get_client(pending["client_id"]) is None:  # denied while the page was shown
            return page("Unknown application", _text(_UNKNOWN_CLIENT), 400)
        if decision != "approve":
            self._audit.event("consent", client_id=pending["client_id"], account=pending["username"], decision="denied")
            return self._back_to_client(pending, error="access_denied", description="the user denied access")
        if self._settings.consent_days > 0:
            await self._consents.remember(
                subject=pending["subject"],
                client_id=pending["client_id"],
                redirect_uri=pending["redirect_uri"],
                scopes=pending["scopes"],
                now=self._clock.now(),
                lifetime=timedelta(days=self._settings.consent_days),
            )
        self._audit.event("consent", client_id=pending["client_id"], account=pending["username"], decision="approved")
        return await self._grant(pending, TokenRecord.from_json_bytes(pending["record"].encode()))

    async def _grant(self, pending: dict[str, Any], record: TokenRecord) -> Response:
        """Store the user's Cway tokens and send the client this server's one-time code."""
        await self._store.save(record)
        ours = new_secret("cwm_ac_")
        await self._db.add_code(
            ours,
            pending["client_id"],
            account_key(record.username),
            {k: pending[k] for k in ("scopes", "code_challenge", "redirect_uri", "redirect_uri_provided_explicitly")}
            | {"resource": pending["resource"]},
            self._clock.now() + CODE_LIFETIME,
        )
        self._audit.event("sign_in_completed", account=record.username, client_id=pending["client_id"])
        return RedirectResponse(
            with_iss(
                construct_redirect_uri(pending["redirect_uri"], code=ours, state=pending.get("state")),
                self._settings.public_url,
            ),
            status_code=302,
            headers={"Cache-Control": "no-store"},
        )

    def _back_to_client(self, pending: dict[str, Any], *, error: str, description: str) -> Response:
        url = construct_redirect_uri(
            pending["redirect_uri"], error=error, error_description=description, state=pending.get("state")
        )
        url = with_iss(url, self._settings.public_url)
        return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
