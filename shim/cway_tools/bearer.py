"""The one bearer rule both servers share: the account's current bearer; on rejection one forced refresh and one retry.

Both roads to Cway use it, so an account behaves the same on each:

* HTTP (``gateway.py``) wraps a :class:`Bearer` in :class:`BearerAuth`, an ``httpx.Auth`` (the
  generator flow httpx documents for custom auth): set the header, send, and if
  :func:`is_rejection` says Cway refused the token, ask for a new one and send once more;
* WebSocket (``subscriptions.py``) asks the same :class:`Bearer` for the first token and, when the
  upgrade or the socket is refused (HTTP 401/403, close 4401/4403, or an ``UNAUTHENTICATED``
  GraphQL error before any event), for the retry token.

A :class:`Bearer` hands out at most two tokens: the current one and, after a rejection, one forced
refresh (``rejected`` carries the refused token's fingerprint, so the daemon refreshes once for many
callers). A second rejection is reported with :meth:`Bearer.refused_message`, never looped on.
``AUTH_METHOD=static`` (:class:`StaticBearer`) has nothing to refresh: its first rejection is final.
Every token handed out is kept in ``tokens`` so error text can be scrubbed of them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Generator

import httpx
from pydantic import SecretStr

#: GraphQL ``extensions.code`` values servers use for "who are you?" (Apollo, graphql-java, Hot Chocolate …).
UNAUTHENTICATED_CODES = frozenset({"UNAUTHENTICATED", "UNAUTHORIZED", "AUTH_NOT_AUTHENTICATED", "INVALID_TOKEN"})


def rejection(response: httpx.Response) -> str | None:
    """Why Cway refused the bearer on this HTTP answer, or None. The one place that decides it for the HTTP road.

    The body has been read when this is called (``BearerAuth.requires_response_body``), so a
    GraphQL-level refusal counts too: many GraphQL servers answer a bad bearer with HTTP 200 and an
    error whose ``extensions.code`` is ``UNAUTHENTICATED``, or resolve ``loginInfo`` to null for an
    anonymous caller. Either is treated exactly like a 401.
    """
    if response.status_code == httpx.codes.UNAUTHORIZED:
        return "HTTP 401"
    if not response.is_success:
        return None
    try:
        payload = response.json()
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    refused = graphql_refusal(payload.get("errors"))
    if refused is not None:
        return refused
    data = payload.get("data")
    if isinstance(data, dict) and "loginInfo" in data and data["loginInfo"] is None:
        return "GraphQL loginInfo null"
    return None


def graphql_refusal(errors: object) -> str | None:
    """``"GraphQL UNAUTHENTICATED"`` (or the like) when GraphQL ``errors`` say "who are you?", else None.

    The same test on both roads: an HTTP answer's ``errors`` (:func:`rejection`) and a
    subscription's ``error`` or ``next`` message (``subscriptions.py``).
    """
    if not isinstance(errors, list):
        return None
    for error in errors:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        code = extensions.get("code") if isinstance(extensions, dict) else None
        if isinstance(code, str) and code.upper() in UNAUTHENTICATED_CODES:
            return f"GraphQL {code.upper()}"
    return None


def is_rejection(response: httpx.Response) -> bool:
    """Did Cway refuse the bearer on this HTTP answer (see :func:`rejection`)?"""
    return rejection(response) is not None


class Bearer(ABC):
    """Where a request's bearer comes from: :class:`StaticBearer` here, the stdio shim's ``DaemonBearer``
    (cway_mcp_shim.daemon_bearer) and ``cway-mcp serve``'s ``RemoteBearer``."""

    def __init__(self, account: str | None) -> None:
        self.account = account
        self.retried = False
        self.tokens: list[str] = []

    async def current(self) -> str:
        """The token to send first."""
        token = await self._current()
        self.tokens.append(token)
        return token

    async def after_rejection(self, why: str) -> str | None:
        """The token for the one retry after ``why``, or ``None`` when there is no retry left."""
        if self.retried or not self.tokens:
            return None
        self.retried = True
        token = await self._refreshed(self.tokens[-1], why)
        if token is None:
            return None
        self.tokens.append(token)
        return token

    @abstractmethod
    def refused_message(self, where: str, why: str) -> str:
        """The tool error once the retry (if any) was refused too; ``where`` is e.g. "Cway"."""

    @abstractmethod
    async def _current(self) -> str: ...

    @abstractmethod
    async def _refreshed(self, rejected: str, why: str) -> str | None: ...


class StaticBearer(Bearer):
    """``AUTH_METHOD=static`` (and tests): one fixed token, nothing to refresh."""

    def __init__(self, token: SecretStr | str, account: str | None = None) -> None:
        super().__init__(account)
        self._token = token if isinstance(token, SecretStr) else SecretStr(token)

    async def _current(self) -> str:
        return self._token.get_secret_value()

    async def _refreshed(self, rejected: str, why: str) -> None:
        return None

    def refused_message(self, where: str, why: str) -> str:
        return (
            f"{where} refused CWAY_API_TOKEN ({why}): create a new API token in Cway's settings, "
            "or switch to per-user sign-in with AUTH_METHOD=oauth2."
        )


class BearerAuth(httpx.Auth):
    """The bearer rule as an ``httpx.Auth``; one instance per request (the account differs per tool call)."""

    requires_response_body = True  # so is_rejection may read a GraphQL answer, not only the status

    def __init__(self, bearer: Bearer) -> None:
        self.bearer = bearer

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = f"Bearer {await self.bearer.current()}"
        response = yield request
        await response.aread()  # overriding async_auth_flow skips httpx's own read for requires_response_body
        why = rejection(response)
        if why is None:
            return
        token = await self.bearer.after_rejection(why)
        if token is None:
            return
        request.headers["Authorization"] = f"Bearer {token}"
        yield request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("BearerAuth works with httpx.AsyncClient only")
