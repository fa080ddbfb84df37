"""The daemon's loopback web listener: the OAuth redirect target and a read-only status page.

Unlike the control socket, a TCP port on 127.0.0.1 is reachable by every local user and, through
the browser, by every web page the user visits. So this app is deliberately tiny:

* **No secrets, and no names.** There is no token route, and the status page shows only counts:
  any local user can reach this port, so who is signed in is left to ``cway-auth status``, which
  goes through the owner-only socket.
* **DNS-rebinding defence.** A hostile page can point its own name at 127.0.0.1 and talk to this
  port with the user's browser. The browser then sends ``Host: evil.example:PORT``, so any request
  whose ``Host`` is not ``localhost``/``127.0.0.1``/``[::1]`` with our port is answered 421 before
  routing (421 Misdirected Request is exactly "this server does not serve that authority").
* **Safe methods only.** GET and HEAD; anything else is 405 before routing. The one state-changing
  GET is the callback itself, whose effect is bounded by the one-time ``state`` it must carry
  (the core checks and consumes it); HEAD on the callback is refused so a link prefetcher cannot
  burn the single-use code.
* **Self-contained pages.** Inline CSS only, a CSP of ``default-src 'none'``, no referrer (the
  callback URL's query holds the authorization code), ``no-store`` caching, no framing.
"""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from cway_common import __version__
from cway_common.config import Settings
from cway_common.contract import AccountInfo
from cway_common.humanize import format_duration

if TYPE_CHECKING:
    from .core import DaemonCore

log = logging.getLogger("cway_authd.callback")

MARKER_HEADER = "x-cway-authd"
"""Sent on every answer so ``cway-auth doctor`` can tell our listener from another program."""

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    MARKER_HEADER: "1",
}

_ALLOWED_METHODS = frozenset({"GET", "HEAD"})

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:3rem auto;max-width:46rem;
padding:0 1rem;color:#1d1d1f;background:#fafafa;line-height:1.5}
h1{font-size:1.4rem;margin-bottom:.5rem}.ok{color:#1a7f37}.bad{color:#b3261e}
table{border-collapse:collapse;width:100%;margin-top:1rem}
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #ddd;font-size:.92rem}
th{background:#f0f0f0}.muted{color:#666;font-size:.85rem}
"""


def allowed_hosts(port: int) -> frozenset[str]:
    """The ``Host`` values a browser sends for our own loopback listener."""
    names = ("localhost", "127.0.0.1", "[::1]")
    hosts = {f"{name}:{port}" for name in names}
    if port == 80:  # browsers omit the default port
        hosts.update(names)
    return frozenset(hosts)


def render_page(title: str, body_html: str, *, ok: bool | None = None) -> str:
    """A complete HTML document; ``title`` is escaped here, ``body_html`` must already be."""
    css_class = "" if ok is None else (' class="ok"' if ok else ' class="bad"')
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{html.escape(title)} · Cway MCP</title><style>{_STYLE}</style></head>"
        f"<body><h1{css_class}>{html.escape(title)}</h1>{body_html}</body></html>\n"
    )


def page_response(title: str, body_html: str, *, status: int = 200, ok: bool | None = None) -> HTMLResponse:
    return HTMLResponse(render_page(title, body_html, ok=ok), status_code=status, headers=SECURITY_HEADERS)


class LoopbackGate:
    """Pure ASGI gate in front of routing: right ``Host`` (exactly one), safe method, or no entry."""

    def __init__(self, app: ASGIApp, port: int) -> None:
        self.app = app
        self.hosts = allowed_hosts(port)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hosts = [value.decode("latin-1").strip().lower() for name, value in scope["headers"] if name == b"host"]
        if len(hosts) != 1 or hosts[0] not in self.hosts:
            shown = hosts[0][:80] if len(hosts) == 1 else f"{len(hosts)} Host headers"
            log.warning("refused a request for host %r on the callback listener", shown)
            text = "<p>This local sign-in helper only answers requests addressed to localhost.</p>"
            response: Response = page_response("Misdirected request", text, status=421, ok=False)
        elif scope["method"] not in _ALLOWED_METHODS:
            response = page_response("Method not allowed", "<p>Only GET is served here.</p>", status=405, ok=False)
            response.headers["Allow"] = "GET, HEAD"
        else:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)


def create_callback_app(core: DaemonCore, settings: Settings) -> ASGIApp:
    """The loopback app for ``settings.redirect`` (host, port, path)."""
    redirect = settings.redirect
    socket_path = str(settings.socket_path)

    async def callback(request: Request) -> Response:
        if request.method != "GET":
            response = page_response("Method not allowed", "<p>Open this link with GET.</p>", status=405, ok=False)
            response.headers["Allow"] = "GET"
            return response
        items = request.query_params.multi_items()
        keys = [key for key, _ in items]
        if len(keys) != len(set(keys)):
            log.warning("sign-in callback with a repeated query parameter refused")
            message = "<p>The sign-in response repeated a parameter, so it was not accepted.</p>"
            return page_response("Sign-in failed", message, status=400, ok=False)
        try:
            outcome = await core.handle_callback(dict(items))
        except Exception:
            log.exception("sign-in callback failed unexpectedly")
            message = "<p>Something went wrong in the sign-in helper. See its log, then try again.</p>"
            return page_response("Sign-in failed", message, status=500, ok=False)
        log.info("sign-in callback answered %d (%s)", outcome.status_code, outcome.title)
        body = f"<p>{html.escape(outcome.message)}</p>"
        if outcome.ok:
            body += '<p class="muted">You can close this tab and return to your assistant.</p>'
        return page_response(outcome.title, body, status=outcome.status_code, ok=outcome.ok)

    async def status_page(request: Request) -> Response:
        try:
            health = await core.health(socket_path)
            accounts = await core.list_accounts()
        except Exception:
            log.exception("status page failed")
            return page_response("Cway MCP sign-in helper", "<p>Status unavailable; see the log.</p>", status=500)
        facts = (
            f"<p>Daemon {html.escape(health.version)} · pid {health.pid} · up "
            f"{html.escape(format_duration(health.uptime_seconds))} · {health.pending_sign_ins} sign-in(s) pending</p>"
        )
        return page_response("Cway MCP sign-in helper", facts + _accounts_summary(accounts), ok=True)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        title = "Not found" if status == 404 else "Request refused"
        return page_response(title, "<p>Nothing is served at this address.</p>", status=status, ok=False)

    app = Starlette(
        routes=[Route(redirect.path, callback, methods=["GET"]), Route("/", status_page, methods=["GET"])],
        exception_handlers={HTTPException: not_found},
    )
    return LoopbackGate(app, redirect.port)


def _accounts_summary(accounts: list[AccountInfo]) -> str:
    """Counts by state only: the names and expiry times are for the owner's socket, not for this port."""
    if not accounts:
        return "<p>No account is signed in. Run <code>cway-auth login</code>.</p>"
    ok = sum(1 for a in accounts if a.state != "needs_sign_in")
    stale = len(accounts) - ok
    text = f"{ok} account(s) signed in"
    if stale:
        text += f", {stale} need(s) to sign in again"
    return (
        f"<p>{html.escape(text)}. Run <code>cway-auth status</code> for details.</p>"
        f'<p class="muted">cway-mcp {html.escape(__version__)}</p>'
    )
