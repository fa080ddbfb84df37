"""The local accounts page, ``http://localhost:PORT/``: accounts, their state, Sign in and Sign out.

Plain HTML forms (it works with JavaScript off), no token ever rendered, and three locks on the
two state-changing routes, because this port is reachable by every local user and, through the
browser, by every web page the user visits:

* **Only the owner.** The names, times and buttons are shown, and the POSTs accepted, only when
  the kernel says the connecting program runs as the daemon's user (:mod:`loopback_peer`); anyone
  else gets the old counts-only page and 403.
* **Same origin.** A POST must carry ``Origin: http://localhost:PORT`` (or the 127.0.0.1 / [::1]
  spelling the browser used, matching ``Host``): a cross-site form post carries the attacker's
  origin, and a POST with no ``Origin`` at all is refused.
* **CSRF token.** Every form carries a token only this daemon process knows and only the owner's
  pages show; it is compared in constant time.

Sign in starts a sign-in flow and answers 303 to the identity provider; the callback page that
ends it shares this page's look (:func:`cway_authd.web.callback_app.render_page`).
"""

from __future__ import annotations

import hmac
import html
import logging
import secrets
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from cway_authd.errors import CoreError
from cway_authd.web.loopback_peer import is_own_peer
from cway_contract import AccountInfo, format_remaining, format_time

if TYPE_CHECKING:
    from collections.abc import Callable

    from cway_authd.core import DaemonCore

log = logging.getLogger("cway_authd.callback")

SIGN_IN_PATH = "/accounts/sign-in"
SIGN_OUT_PATH = "/accounts/sign-out"
POST_PATHS = frozenset({SIGN_IN_PATH, SIGN_OUT_PATH})
MAX_FORM_BYTES = 4096


class AccountsPage:
    """The page and its two form handlers for one daemon; ``page`` renders a full HTML response."""

    def __init__(
        self,
        core: DaemonCore,
        port: int,
        page: Callable[..., Response],
        summary: Callable[[list[AccountInfo]], str],
    ) -> None:
        self.core = core
        self.port = port
        self.page = page
        self.summary = summary
        self.csrf = secrets.token_urlsafe(32)

    def routes(self) -> list[Route]:
        return [
            Route("/", self.show, methods=["GET"]),
            Route(SIGN_IN_PATH, self.sign_in, methods=["POST"]),
            Route(SIGN_OUT_PATH, self.sign_out, methods=["POST"]),
        ]

    # -- GET / ---------------------------------------------------------------------------------

    async def show(self, request: Request) -> Response:
        try:
            accounts = await self.core.list_accounts()
        except Exception:
            log.exception("accounts page failed")
            return self.page("Cway accounts", "<p>Accounts unavailable; see the daemon's log.</p>", status=500)
        if not _own(request):
            return self.page("Cway MCP sign-in helper", self.summary(accounts), ok=True)
        return self.page("Cway accounts", self._table(accounts) + self._sign_in_form())

    def _table(self, accounts: list[AccountInfo]) -> str:
        if not accounts:
            return "<p>No account is signed in on this computer yet.</p>"
        now = self.core.clock.now()
        rows = []
        for a in accounts:
            name = html.escape(a.username)
            shown = name + (f'<br><span class="muted">{html.escape(a.display_name)}</span>' if a.display_name else "")
            state = "sign-in needed" if a.state == "needs_sign_in" else a.state
            access = "—" if a.state == "needs_sign_in" else html.escape(format_remaining(a.access_expires_at, now))
            renewable = html.escape(
                f"{format_time(a.refresh_expires_at)} ({format_remaining(a.refresh_expires_at, now)})"
                if a.refresh_expires_at
                else "—"
            )
            actions = self._form(SIGN_OUT_PATH, "Sign out", a.username, "sign-out")
            if a.state == "needs_sign_in":
                actions = self._form(SIGN_IN_PATH, "Sign in again", a.username, "sign-in", primary=True) + actions
            rows.append(
                f'<tr data-account="{name}"><td>{shown}</td><td class="state-{a.state}">{html.escape(state)}</td>'
                f"<td>{access}</td><td>{renewable}</td><td>{actions}</td></tr>"
            )
        head = "<tr><th>Account</th><th>State</th><th>Access token</th><th>Renewable until</th><th></th></tr>"
        note = '<p class="muted">The daemon renews access tokens by itself until the sign-in expires.</p>'
        return f"<table>{head}{''.join(rows)}</table>{note}"

    def _form(self, action: str, label: str, username: str | None, name: str, *, primary: bool = False) -> str:
        user = f'<input type="hidden" name="username" value="{html.escape(username)}">' if username else ""
        cls = ' class="primary"' if primary else ""
        return (
            f'<form method="post" action="{action}"><input type="hidden" name="csrf" value="{self.csrf}">{user}'
            f'<button type="submit" name="{name}"{cls}>{html.escape(label)}</button></form>'
        )

    def _sign_in_form(self) -> str:
        return (
            f'<h2>Sign in</h2><form method="post" action="{SIGN_IN_PATH}" id="sign-in-form">'
            f'<input type="hidden" name="csrf" value="{self.csrf}">'
            '<label>Account (optional): <input type="text" name="username" autocomplete="email" '
            'placeholder="you@example.com"></label> '
            '<button type="submit" name="sign-in" class="primary">Sign in</button></form>'
            '<p class="muted">Opens your organisation\'s sign-in page; you come back here when it is done.</p>'
        )

    # -- POST ------------------------------------------------------------------------------------

    async def _form_fields(self, request: Request) -> dict[str, str] | Response:
        """The checked form, or the refusal: owner, same origin, form encoding, size, CSRF token."""
        if not _own(request):
            return self._refuse("This page only takes requests from your own user account.")
        if not self._same_origin(request):
            return self._refuse("The request did not come from this page (its Origin is missing or foreign).")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
            return self._refuse("Expected a form submission.", status=415)
        declared = request.headers.get("content-length")
        if declared is None or not declared.isdigit() or int(declared) > MAX_FORM_BYTES:
            return self._refuse("The form is too large.", status=413)
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return self._refuse("The form is too large.", status=413)
        try:
            parsed = parse_qs(body.decode("utf-8", "replace"), max_num_fields=8, strict_parsing=False)
        except ValueError:
            return self._refuse("The form has too many fields.", status=400)
        fields = {k: v[-1] for k, v in parsed.items()}
        if not hmac.compare_digest(fields.get("csrf", "").encode(), self.csrf.encode()):
            return self._refuse("The form is out of date (its token does not match). Reload the page and try again.")
        return fields

    def _same_origin(self, request: Request) -> bool:
        origin = request.headers.get("origin")
        host = request.headers.get("host", "").lower()
        if not origin:
            return False
        parts = urlsplit(origin.lower())
        return parts.scheme == "http" and parts.netloc == host and not parts.path

    def _refuse(self, message: str, *, status: int = 403) -> Response:
        log.warning("accounts page refused a form post: %s", message)
        return self.page("Request refused", f"<p>{html.escape(message)}</p>", status=status, ok=False)

    async def sign_in(self, request: Request) -> Response:
        fields = await self._form_fields(request)
        if isinstance(fields, Response):
            return fields
        username = fields.get("username", "").strip() or None
        try:
            status = await self.core.start_sign_in(username)
        except CoreError as exc:
            return self.page("Sign-in failed", f"<p>{html.escape(exc.message)}</p>", status=exc.status, ok=False)
        if status.state != "pending" or not status.authorization_url:
            message = status.message or "The sign-in could not be started."
            return self.page("Sign-in failed", f"<p>{html.escape(message)}</p>", status=502, ok=False)
        return RedirectResponse(status.authorization_url, status_code=303, headers={"Cache-Control": "no-store"})

    async def sign_out(self, request: Request) -> Response:
        fields = await self._form_fields(request)
        if isinstance(fields, Response):
            return fields
        username = fields.get("username", "").strip()
        if not username:
            return self._refuse("Which account? The form named none.", status=400)
        try:
            result = await self.core.logout(username)
        except CoreError as exc:
            return self.page("Sign-out failed", f"<p>{html.escape(exc.message)}</p>", status=exc.status, ok=False)
        title = "Signed out" if result.removed else "Not signed in"
        body = f'<p>{html.escape(result.message)}</p><p><a href="/">Back to your accounts</a></p>'
        return self.page(title, body, ok=result.removed)


def _own(request: Request) -> bool:
    return is_own_peer(request.scope.get("client"), request.scope.get("server"))
