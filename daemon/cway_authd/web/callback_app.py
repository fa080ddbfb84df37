"""The daemon's loopback web listener: the OAuth redirect target and the local accounts page.

Unlike the control socket, a TCP port on 127.0.0.1 is reachable by every local user and, through
the browser, by every web page the user visits. So this app is deliberately tiny:

* **No secrets, and names only for the owner.** There is no token route, and no page renders a
  token. The accounts page (:mod:`cway_authd.web.accounts_page`) shows names, times and Sign in / Sign
  out only to a browser the kernel says runs as the daemon's user; anyone else sees counts.
* **DNS-rebinding defence.** A hostile page can point its own name at 127.0.0.1 and talk to this
  port with the user's browser. The browser then sends ``Host: evil.example:PORT``, so any request
  whose ``Host`` is not ``localhost``/``127.0.0.1``/``[::1]`` with our port is answered 421 before
  routing (421 Misdirected Request is exactly "this server does not serve that authority").
* **Safe methods, and two guarded forms.** GET and HEAD; POST only on the accounts page's two form
  routes, which also demand the owner's uid, a same-origin ``Origin`` and the CSRF token; anything
  else is 405 before routing. The callback is a state-changing GET whose effect is bounded by the
  one-time ``state`` it must carry (the core checks and consumes it); HEAD on the callback is
  refused so a link prefetcher cannot burn the single-use code.
* **Self-contained pages.** One template and stylesheet (``web/``), inlined; a CSP of
  ``default-src 'none'`` (forms may post only here and lead on only to the identity provider), no
  referrer (the callback URL's query holds the authorization code), ``no-store``, no framing.
"""

from __future__ import annotations

import html
import logging
from functools import cache
from importlib import resources
from string import Template
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from cway_authd.sign_in.link import sign_in_link_route
from cway_authd.web.accounts_page import POST_PATHS, AccountsPage
from cway_contract import AccountInfo, Settings, __version__

if TYPE_CHECKING:
    from cway_authd.core import DaemonCore

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


@cache
def _web_file(name: str) -> str:
    """A file from ``cway_authd/web/`` (package data), read once."""
    return resources.files("cway_authd").joinpath("web", name).read_text("utf-8")


def security_headers(form_origins: str | None = None) -> dict[str, str]:
    """The headers of every page; ``form_origins`` lets forms post here and lead on to the IdP.

    Pages with forms use ``Referrer-Policy: same-origin``: under ``no-referrer`` a browser sends
    ``Origin: null`` with a form post, and the same-origin check needs the real origin. The policy
    still sends nothing to another site (the IdP), and the callback page, whose URL holds the
    authorization code, keeps ``no-referrer``.
    """
    if form_origins is None:
        return SECURITY_HEADERS
    csp = SECURITY_HEADERS["Content-Security-Policy"].replace("form-action 'none'", f"form-action {form_origins}")
    return {**SECURITY_HEADERS, "Content-Security-Policy": csp, "Referrer-Policy": "same-origin"}


def allowed_hosts(port: int) -> frozenset[str]:
    """The ``Host`` values a browser sends for our own loopback listener."""
    names = ("localhost", "127.0.0.1", "[::1]")
    hosts = {f"{name}:{port}" for name in names}
    if port == 80:  # browsers omit the default port
        hosts.update(names)
    return frozenset(hosts)


def render_page(title: str, body_html: str, *, ok: bool | None = None, referrer: str = "no-referrer") -> str:
    """A complete HTML document in the accounts page's look (``web/page.html`` + ``web/style.css``);
    ``title`` is escaped here, ``body_html`` must already be."""
    css_class = "" if ok is None else (' class="ok"' if ok else ' class="bad"')
    return Template(_web_file("page.html")).substitute(
        title=html.escape(title),
        heading_class=css_class,
        body=body_html,
        style=_web_file("style.css"),
        version=html.escape(__version__),
        referrer=referrer,
    )


def page_response(
    title: str, body_html: str, *, status: int = 200, ok: bool | None = None, form_origins: str | None = None
) -> HTMLResponse:
    headers = security_headers(form_origins)
    page = render_page(title, body_html, ok=ok, referrer=headers["Referrer-Policy"])
    return HTMLResponse(page, status_code=status, headers=headers)


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
        elif scope["method"] not in _ALLOWED_METHODS and not (
            scope["method"] == "POST" and scope["path"] in POST_PATHS
        ):
            response = page_response("Method not allowed", "<p>Only GET is served here.</p>", status=405, ok=False)
            response.headers["Allow"] = "GET, HEAD"
        else:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)


def create_callback_app(core: DaemonCore, settings: Settings) -> ASGIApp:
    """The loopback app for ``settings.redirect`` (host, port, path)."""
    redirect = settings.redirect

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
        body += '<p><a href="/">Your accounts on this computer</a></p>'
        return page_response(outcome.title, body, status=outcome.status_code, ok=outcome.ok)

    # Forms post to this listener, and Sign in's 303 leads on to the IdP: CSP form-action covers both.
    authority = urlsplit(settings.azure_authority)
    form_origins = f"'self' {authority.scheme}://{authority.netloc}"

    def accounts_page_response(title: str, body_html: str, **kwargs: object) -> Response:
        return page_response(title, body_html, form_origins=form_origins, **kwargs)  # type: ignore[arg-type]

    accounts_page = AccountsPage(core, redirect.port, accounts_page_response, _accounts_summary)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        title = "Not found" if status == 404 else "Request refused"
        return page_response(title, "<p>Nothing is served at this address.</p>", status=status, ok=False)

    app = Starlette(
        routes=[
            Route(redirect.path, callback, methods=["GET"]),
            sign_in_link_route(core.sign_in.flows.get, page_response),
            *accounts_page.routes(),
        ],
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
