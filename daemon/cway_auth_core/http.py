"""The one ``httpx.AsyncClient`` of the daemon process, and the one place httpx errors are caught.

Every outbound call (OIDC discovery, JWKS, token endpoints, Cway GraphQL, revocation) goes
through :func:`send`, which turns httpx exceptions into :class:`~cway_auth_core.errors.BackendTransient`
with a message naming only the kind of failure and the host. httpx's own exception strings can
include full URLs (and so, for a redirect or a GET, an authorization code): they are never
propagated.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from cway_auth_core.errors import BackendTransient
from cway_contract import Settings, __version__

USER_AGENT = f"cway-authd/{__version__}"


def build_http_client(settings: Settings) -> httpx.AsyncClient:
    """The process-wide client: bounded timeouts, no redirects (token endpoints never redirect)."""
    timeout = settings.http_timeout_seconds
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=10),
    )


def host_of(url: str) -> str:
    """Scheme-less host[:port] of ``url``: safe to show (no path, no query)."""
    return urlsplit(url).netloc or "?"


async def send(http: httpx.AsyncClient, method: str, url: str, *, what: str, **kwargs: Any) -> httpx.Response:
    """Send one request; transport failures become ``BackendTransient`` with a clean message."""
    try:
        return await http.request(method, url, **kwargs)
    except httpx.TimeoutException:
        raise BackendTransient(f"{what} at {host_of(url)} did not answer in time") from None
    except httpx.TransportError as exc:
        raise BackendTransient(f"could not reach {what} at {host_of(url)} ({type(exc).__name__})") from None
    except httpx.HTTPError as exc:
        raise BackendTransient(f"request to {what} at {host_of(url)} failed ({type(exc).__name__})") from None


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The body as a JSON object, or None if it is not one (never raises)."""
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
