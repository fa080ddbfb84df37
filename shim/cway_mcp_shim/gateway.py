"""The shim's only road to Cway's GraphQL API: one ``httpx.AsyncClient`` per process.

Authentication is an ``httpx.Auth`` so that the "add the bearer, and on a 401 refresh once and
retry" rule lives in exactly one place (httpx's documented auth-flow pattern) instead of in every
tool:

* :class:`DaemonBearerAuth` (``AUTH_METHOD=oauth2``) asks the daemon for the account's current
  bearer; when Cway still answers 401 it makes the daemon *force* a refresh and retries once.
  A second 401 is reported, never looped on.
* :class:`StaticBearerAuth` (``AUTH_METHOD=static``) sends ``CWAY_API_TOKEN``; no daemon at all.

Subscriptions (:meth:`CwayHttpGateway.subscribe`, over WebSocket to ``CWAY_WS_URL``) take their
bearer from the same place and follow the same one-refresh rule (``subscriptions.py``).

Every failure reaches the model as a short ``ToolError``; no message ever contains a token
(:func:`scrub` removes any the auth has handled, in case Cway echoes one back).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, Generator, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import SecretStr

from cway_common import __version__
from cway_common.config import Settings
from cway_common.redact import fingerprint
from cway_mcp_shim import subscriptions
from cway_mcp_shim.daemon_access import DaemonAccess
from cway_mcp_shim.documents import Document

log = logging.getLogger(__name__)

MAX_ERRORS_SHOWN = 3
MAX_ERROR_CHARS = 300
REDACTED = "[redacted]"


class DaemonBearerAuth(httpx.Auth):
    """Bearer from the daemon for one account; on a 401, one forced refresh and one retry.

    One instance per request, because the account differs per tool call. After the flow,
    ``account`` is the account the daemon actually served (it resolves ``username=None`` to
    its only signed-in account) and ``retried`` says whether the refresh path was taken.
    """

    def __init__(self, daemon: DaemonAccess, username: str | None) -> None:
        self._daemon = daemon
        self.username = username
        self.account: str | None = username
        self.retried = False
        self.tokens: list[str] = []

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        bearer = await self._daemon.bearer(self.username)
        self.account = bearer.username
        self._apply(request, bearer.access_token)
        response = yield request
        if response.status_code != httpx.codes.UNAUTHORIZED:
            return
        log.info("Cway answered 401 for %s; forcing a token refresh and retrying once", bearer.username)
        self.retried = True
        refreshed = await self._daemon.force_refresh(bearer.username, rejected=fingerprint(bearer.access_token))
        self._apply(request, refreshed.access_token)
        yield request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("DaemonBearerAuth works with httpx.AsyncClient only")

    def _apply(self, request: httpx.Request, token: str) -> None:
        self.tokens.append(token)
        request.headers["Authorization"] = f"Bearer {token}"


class StaticBearerAuth(httpx.Auth):
    """The backward-compatible mode: one Cway API token (``CWAY_API_TOKEN``) for every request."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token
        self.account: str | None = None
        self.retried = False

    @property
    def tokens(self) -> list[str]:
        return [self._token.get_secret_value()]

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        yield request


def scrub(text: str, secrets: list[str]) -> str:
    """Remove every secret from ``text`` (Cway or a proxy might echo a header back)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


class CwayHttpGateway:
    """Implements the tools' ``CwayGateway``: POST ``{query, variables, operationName}``, return ``data``."""

    def __init__(
        self, settings: Settings, daemon: DaemonAccess | None, *, http: httpx.AsyncClient | None = None
    ) -> None:
        if settings.auth_method == "oauth2" and daemon is None:
            raise ValueError("AUTH_METHOD=oauth2 needs a DaemonAccess")
        self.settings = settings
        self.daemon = daemon
        self.url = settings.cway_api_url
        self._host = urlsplit(self.url).netloc
        self._client = http

    @property
    def _http(self) -> httpx.AsyncClient:
        """Built on first use, not at start: its TLS context costs tens of ms of every shim's cold start,
        and an MCP client that only lists the tools never needs it."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.settings.http_timeout_seconds),
                headers={"User-Agent": f"cway-mcp/{__version__}", "Accept": "application/json"},
                follow_redirects=False,  # a redirect would carry the bearer somewhere we did not choose
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def execute(
        self, document: Document, variables: Mapping[str, Any] | None = None, *, username: str | None = None
    ) -> dict[str, Any]:
        data, _ = await self.execute_as(document.text, variables, document.name, username=username)
        return data

    async def execute_text(
        self,
        text: str,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
        *,
        username: str | None = None,
    ) -> dict[str, Any]:
        data, _ = await self.execute_as(text, variables, operation_name, username=username)
        return data

    async def execute_as(
        self,
        text: str,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
        *,
        username: str | None = None,
    ) -> tuple[dict[str, Any], str | None]:
        """Like :meth:`execute_text`, also returning the account that was used (for ``whoami``)."""
        auth = self._auth_for(username)
        body: dict[str, Any] = {"query": text, "variables": dict(variables or {})}
        if operation_name:
            body["operationName"] = operation_name
        try:
            response = await self._http.post(self.url, json=body, auth=auth)
        except httpx.TimeoutException:
            raise ToolError(
                f"Cway did not answer within {self.settings.http_timeout_seconds:g} s ({self._host}); "
                "try again shortly (CWAY_MCP_HTTP_TIMEOUT sets the limit)."
            ) from None
        except httpx.TransportError as exc:
            raise ToolError(
                f"Cway cannot be reached at {self._host} ({type(exc).__name__}); try again shortly."
            ) from None
        except httpx.HTTPError as exc:  # e.g. a body that fails to decode (DecodingError)
            raise ToolError(
                f"Cway's answer from {self._host} could not be read ({type(exc).__name__}); try again shortly."
            ) from None
        return self._data(response, auth), auth.account

    def subscribe(
        self, document: Document, variables: Mapping[str, Any] | None = None, *, username: str | None = None
    ) -> AsyncGenerator[dict[str, Any], None]:
        """The ``data`` of each event of a subscription document, as the same account as :meth:`execute`."""
        source: subscriptions.BearerSource
        if self.settings.auth_method == "static":
            if self.settings.cway_api_token is None:
                raise ToolError("AUTH_METHOD=static needs CWAY_API_TOKEN")
            source = subscriptions.StaticBearerSource(self.settings.cway_api_token)
        else:
            assert self.daemon is not None
            source = subscriptions.DaemonBearerSource(self.daemon, username or self.settings.cway_username)
        return subscriptions.subscribe(
            self.settings.cway_ws_url,
            document.text,
            variables,
            document.name,
            source,
            open_timeout=self.settings.http_timeout_seconds,
            user_agent=f"cway-mcp/{__version__}",
        )

    def _auth_for(self, username: str | None) -> DaemonBearerAuth | StaticBearerAuth:
        if self.settings.auth_method == "static":
            if self.settings.cway_api_token is None:  # load_settings refuses this; keep the type honest
                raise ToolError("AUTH_METHOD=static needs CWAY_API_TOKEN")
            return StaticBearerAuth(self.settings.cway_api_token)
        assert self.daemon is not None
        return DaemonBearerAuth(self.daemon, username or self.settings.cway_username)

    def _data(self, response: httpx.Response, auth: DaemonBearerAuth | StaticBearerAuth) -> dict[str, Any]:
        status = response.status_code
        who = f" for {auth.account}" if auth.account else ""
        if status == httpx.codes.UNAUTHORIZED:
            if isinstance(auth, StaticBearerAuth):
                raise ToolError(
                    "Cway refused CWAY_API_TOKEN (HTTP 401): create a new API token in Cway's settings, "
                    "or switch to per-user sign-in with AUTH_METHOD=oauth2."
                )
            raise ToolError(
                f"Cway refused the access token{who} even after refreshing it (HTTP 401). The account may be "
                "disabled in Cway or its sign-in revoked: call the login tool to sign in again."
            )
        payload = _json_or_none(response)
        errors = payload.get("errors") if isinstance(payload, dict) else None
        # GraphQL-over-HTTP: errors on 200 (execution) or 400 (validation) are Cway's answer; on a
        # 5xx, 403 or 429 the status says more than whatever error text came with it.
        if errors and status < 500 and status not in (httpx.codes.FORBIDDEN, httpx.codes.TOO_MANY_REQUESTS):
            raise ToolError(scrub(graphql_errors_text(errors), auth.tokens))
        if status >= 300:
            raise ToolError(_http_error_text(response, who))
        if not isinstance(payload, dict):
            kind = response.headers.get("content-type", "no content type")
            raise ToolError(f"Cway answered HTTP {status} with something that is not GraphQL JSON ({kind}).")
        data = payload.get("data")
        if not isinstance(data, dict):
            raise ToolError("Cway answered without data and without errors.")
        return data


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def graphql_errors_text(errors: Any) -> str:
    messages: list[str] = []
    for err in errors if isinstance(errors, list) else [errors]:
        message = err.get("message") if isinstance(err, dict) else None
        text = str(message if message is not None else err).strip().replace("\n", " ")
        messages.append(text[:MAX_ERROR_CHARS] + ("…" if len(text) > MAX_ERROR_CHARS else ""))
    shown = "; ".join(messages[:MAX_ERRORS_SHOWN])
    more = len(messages) - MAX_ERRORS_SHOWN
    return f"Cway reported an error: {shown}" + (f" (and {more} more)" if more > 0 else "")


def _http_error_text(response: httpx.Response, who: str) -> str:
    status = response.status_code
    head = f"Cway answered HTTP {status} {response.reason_phrase}{who}".rstrip()
    if status == httpx.codes.FORBIDDEN:
        return f"{head}: this account may not do that in Cway."
    if status == httpx.codes.TOO_MANY_REQUESTS:
        after = response.headers.get("retry-after")
        return f"{head}: too many requests; retry" + (f" after {after} s." if after else " shortly.")
    if status < 400:
        return f"{head}: a redirect, not an answer; check CWAY_API_URL."
    if status >= 500:
        return f"{head}: Cway is having trouble; try again shortly."
    return f"{head}."
