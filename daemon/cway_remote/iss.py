"""RFC 9207: every authorization response names its issuer (``iss``), so a client that talks to more
than one authorization server cannot be tricked into sending one server's code to another (mix-up).

MCP 2026-07-28 says an authorization server SHOULD do it and advertise
``authorization_response_iss_parameter_supported``. Once advertised, a client may reject any
response without ``iss``, so *every* redirect to a client's ``redirect_uri`` carries it: the code
and the consent page's errors (:mod:`consent`, through :func:`with_iss`), and the errors the SDK's
own ``/authorize`` handler redirects with (an invalid scope, say), which :class:`IssOnAuthorize`
adds on the way out. Redirects from ``/authorize`` to our consent page or to Entra carry no
``error`` and are left alone.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def with_iss(url: str, issuer: str) -> str:
    """``url`` with ``iss=<issuer>`` added to its query (kept as is when it already has one)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query, keep_blank_values=True)
    if "iss" in query:
        return url
    extra = urlencode({"iss": issuer})
    return urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))


class IssOnAuthorize:
    """Adds ``iss`` to the error redirects ``/authorize`` sends back to a client."""

    def __init__(self, app: ASGIApp, issuer: str, path: str = "/authorize") -> None:
        self.app = app
        self.issuer = issuer
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != self.path:
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                headers = MutableHeaders(scope=message)
                location = headers.get("location")
                if location and "error" in parse_qs(urlsplit(location).query):
                    headers["location"] = with_iss(location, self.issuer)
            await send(message)

        await self.app(scope, receive, sending)
