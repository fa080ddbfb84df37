"""The short sign-in link handed to MCP clients: ``http://localhost:8765/sign-in/<flow id>``.

The full Entra authorize URL carries ``login_hint=<e-mail address>``, and MCP's URL-mode elicitation
forbids personal data in a URL given to a client (it may be logged, shown or sent on). So clients
get a short local link on the callback listener instead; opening it redirects (303) to Entra with
every parameter, ``login_hint`` included. It is nicer to paste, too.

The flow id is random (96 bits) and only ever given out on the owner-only socket, so another local
user cannot guess it; the link works only while the sign-in is pending (single use and 10 minutes,
like the flow), and it reveals nothing but what the browser is about to see anyway.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from cway_auth_core import SignInFlow
from cway_contract import RedirectTarget

LINK_PREFIX = "/sign-in/"
_FLOW_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

PageFactory = Callable[..., Response]


def sign_in_link(redirect: RedirectTarget, flow_id: str) -> str:
    """The short link for a flow, on the callback listener's own origin (as registered in Entra)."""
    parts = urlsplit(redirect.uri)
    return f"{parts.scheme}://{parts.netloc}{LINK_PREFIX}{flow_id}"


def sign_in_link_route(find_flow: Callable[[str], SignInFlow | None], page: PageFactory) -> Route:
    """``GET /sign-in/{flow_id}``: a 303 to the IdP while the flow is pending, a plain page otherwise.

    ``find_flow`` is the daemon's flow registry lookup (``core.sign_in.flows.get``)."""

    async def follow(request: Request) -> Response:
        flow_id = request.path_params["flow_id"]
        flow = find_flow(flow_id) if _FLOW_ID.match(flow_id) else None
        if flow is None or flow.status != "pending" or flow.consumed or not flow.authorization_url:
            text = (
                "<p>This sign-in link is no longer valid: it was used, it expired after 10 minutes, or the "
                "sign-in helper was restarted.</p><p>Ask your assistant to sign in again, or run "
                f"<code>{html.escape('cway-auth login')}</code>.</p>"
            )
            return page("Sign-in link expired", text, status=410, ok=False)
        response = RedirectResponse(flow.authorization_url, status_code=303)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    return Route(LINK_PREFIX + "{flow_id}", follow, methods=["GET"])
