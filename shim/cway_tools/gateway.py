"""The shim's only road to Cway's GraphQL API: one ``httpx.AsyncClient`` per process.

The bearer rule ("from the daemon; on rejection one forced refresh and one retry") is
:mod:`cway_tools.bearer`, applied here as an ``httpx.Auth`` so no tool repeats it.
Subscriptions (:meth:`CwayHttpGateway.subscribe`, over WebSocket to ``CWAY_WS_URL``) use the same
rule through the same :class:`~cway_tools.bearer.Bearer` (``subscriptions.py``).

Every failure reaches the model as a short ``ToolError``; no message ever contains a token
(:func:`~cway_tools.error_text.scrub` removes any the bearer handed out, in case Cway echoes one).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
from mcp.server.mcpserver.exceptions import ToolError

from cway_contract import Settings, __version__, is_loopback_host
from cway_tools import subscriptions
from cway_tools.bearer import Bearer, BearerAuth, StaticBearer, rejection
from cway_tools.documents import Document
from cway_tools.error_text import graphql_errors_text, scrub
from cway_tools.organisations import StaticOrganisations

log = logging.getLogger(__name__)

#: What a kept-alive connection that the server closed as it was being reused raises.
STALE_CONNECTION_ERRORS = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
#: Idle connections are dropped before a server's usual keep-alive timeout (uvicorn's 5 s), so a
#: connection is rarely reused at the moment the server closes it.
KEEPALIVE_EXPIRY_SECONDS = 2.0


def _is_query(text: str) -> bool:
    """A read (``query …`` or the ``{ … }`` shorthand), not a mutation or subscription."""
    head = text.lstrip()
    return head.startswith("{") or head.startswith("query")


class CwayHttpGateway:
    """Implements the tools' ``CwayGateway``: POST ``{query, variables, operationName}``, return ``data``."""

    #: Whether ``AUTH_METHOD=oauth2`` needs ``bearers`` given: a subclass with its own bearer source
    #: (``cway-mcp serve``'s) sets this False.
    needs_bearer_source: ClassVar[bool] = True
    #: Whether upload tools may read a path from this machine's disk: the stdio shim runs on the person's
    #: machine; ``cway-mcp serve`` does not (its disk is the server's), so it takes file content instead.
    accepts_local_paths: ClassVar[bool] = True

    def __init__(
        self,
        settings: Settings,
        bearers: Callable[[str | None], Bearer] | None,
        *,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        if settings.auth_method == "oauth2" and bearers is None and self.needs_bearer_source:
            raise ValueError("AUTH_METHOD=oauth2 needs a bearer source (the stdio shim's: its DaemonAccess)")
        self.settings = settings
        #: ``AUTH_METHOD=oauth2``: the bearer for an account (``None``: the configured one); the stdio
        #: shim passes the daemon's (cway_mcp_shim.daemon_bearer), so this layer never sees the socket.
        self.bearers = bearers
        self.url = settings.cway_api_url
        self._host = urlsplit(self.url).netloc
        self._client = http
        #: AUTH_METHOD=static: the configured organisations' tokens and which one is sent now.
        self.static_organisations = (
            StaticOrganisations.from_settings(settings) if settings.auth_method == "static" else None
        )

    @property
    def _http(self) -> httpx.AsyncClient:
        """Built on first use, not at start: its TLS context costs tens of ms of every shim's cold start,
        and an MCP client that only lists the tools never needs it."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.settings.http_timeout_seconds),
                headers={"User-Agent": f"cway-mcp/{__version__}", "Accept": "application/json"},
                follow_redirects=False,  # a redirect would carry the bearer somewhere we did not choose
                limits=httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS),
            )
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client; a later call builds a new one (a closed client cannot be reused)."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def put_upload(
        self,
        url: str,
        body: AsyncIterator[bytes],
        *,
        size: int,
        content_type: str,
        on_sent: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        """PUT ``size`` bytes to a presigned upload URL from ``tempFileUploadUrl``: no bearer (the URL is its
        own authorisation, and a storage host has no business seeing a Cway token), no redirects, https
        only (http on loopback). ``on_sent`` hears the running byte count (upload progress)."""
        parts = urlsplit(url)
        if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback_host(parts.hostname or "")):
            raise ToolError("Cway handed out an upload address that is not https; nothing was sent.")

        async def counted() -> AsyncIterator[bytes]:
            sent = 0
            async for block in body:
                sent += len(block)
                yield block
                if on_sent is not None:
                    await on_sent(sent)

        try:
            response = await self._http.put(
                url,
                content=counted(),
                headers={"Content-Type": content_type, "Content-Length": str(size)},
                timeout=httpx.Timeout(self.settings.http_timeout_seconds, write=None),
            )
        except httpx.HTTPError as exc:
            raise ToolError(f"The upload to Cway's storage failed ({type(exc).__name__}); try again.") from None
        if response.status_code not in (200, 201, 204):
            code = response.text[:400] if response.headers.get("content-type", "").endswith("xml") else ""
            reason = code.split("<Code>")[1].split("</Code>")[0] if "<Code>" in code else f"HTTP {response.status_code}"
            raise ToolError(f"Cway's storage refused the upload ({reason}); nothing was attached.")

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
        bearer = self.bearer_for(username)
        body: dict[str, Any] = {"query": text, "variables": dict(variables or {})}
        if operation_name:
            body["operationName"] = operation_name
        try:
            try:
                response = await self._http.post(self.url, json=body, auth=BearerAuth(bearer))
            except STALE_CONNECTION_ERRORS:
                if not _is_query(text):
                    raise  # a mutation may have reached Cway: never sent twice
                # A kept-alive connection the server closed just as it was reused: a query is safe to send again.
                response = await self._http.post(self.url, json=body, auth=BearerAuth(bearer))
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
        return self._data(response, bearer), bearer.account

    async def fetch_file(self, url: str, *, username: str | None = None, max_bytes: int) -> tuple[bytes, str]:
        """The bytes and content type behind a Cway file URL (``tempFileDownloadUrl``), with the bearer.

        Only a URL on the Cway API's own host is fetched: the bearer never goes anywhere else.
        A file larger than ``max_bytes`` is refused (the answer is inlined into a tool result).
        """
        if urlsplit(url).netloc != self._host:
            raise ToolError("Cway gave a file URL on another host; it is not fetched with your token.")
        bearer = self.bearer_for(username)
        try:
            response = await self._http.get(url, auth=BearerAuth(bearer), headers={"Accept": "image/*"})
        except httpx.HTTPError as exc:
            raise ToolError(f"The file could not be fetched from {self._host} ({type(exc).__name__}).") from None
        if response.status_code != 200:
            raise ToolError(_http_error_text(response, f" for {bearer.account}" if bearer.account else ""))
        if len(response.content) > max_bytes:
            raise ToolError(f"The file is larger than {max_bytes} bytes; it is not inlined.")
        return response.content, response.headers.get("content-type", "application/octet-stream").split(";")[0]

    def subscribe(
        self,
        document: Document,
        variables: Mapping[str, Any] | None = None,
        *,
        username: str | None = None,
        on_subscribed: Callable[[], None] | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """The ``data`` of each event of a subscription document, as the same account as :meth:`execute`."""
        return subscriptions.subscribe(
            self.settings.cway_ws_url,
            document.text,
            variables,
            document.name,
            self.bearer_for(username),
            open_timeout=self.settings.http_timeout_seconds,
            user_agent=f"cway-mcp/{__version__}",
            on_subscribed=on_subscribed,
        )

    def bearer_for(self, username: str | None) -> Bearer:
        """Whose token a request carries (a subclass with another token source overrides this)."""
        if self.static_organisations is not None:
            return StaticBearer(self.static_organisations.token())
        assert self.bearers is not None
        return self.bearers(username or self.settings.cway_username)

    def _data(self, response: httpx.Response, bearer: Bearer) -> dict[str, Any]:
        status = response.status_code
        who = f" for {bearer.account}" if bearer.account else ""
        why = rejection(response)
        if why is not None:  # the retry (if there was one) was refused too
            raise ToolError(bearer.refused_message("Cway", why))
        payload = _json_or_none(response)
        errors = payload.get("errors") if isinstance(payload, dict) else None
        # GraphQL-over-HTTP: errors on 200 (execution) or 400 (validation) are Cway's answer; on a
        # 5xx, 403 or 429 the status says more than whatever error text came with it.
        if errors and status < 500 and status not in (httpx.codes.FORBIDDEN, httpx.codes.TOO_MANY_REQUESTS):
            raise ToolError(scrub(graphql_errors_text(errors), bearer.tokens))
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
