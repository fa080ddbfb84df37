"""The shim's one bearer rule (``bearer.py``), as both roads use it: at most one forced refresh, then report.

The daemon here is a stand-in that records what it was asked; the HTTP road through a real
``httpx`` client (pytest-httpx) and the WebSocket road against the emulator are tested elsewhere
(``test_gateway*.py``, ``test_ai_tools_e2e.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime

import httpx
from pytest_httpx import HTTPXMock

from cway_contract.contract import BearerResponse
from cway_contract.redact import fingerprint
from cway_mcp_shim.daemon_bearer import DaemonBearer
from cway_tools.bearer import BearerAuth, StaticBearer

URL = "https://cway.example.test/graphql"


class RecordingDaemon:
    """Hands out token-1, then token-2, ... and records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None, str | None]] = []

    def _next(self) -> BearerResponse:
        token = f"token-{len(self.calls)}"
        return BearerResponse(username="alice@x", access_token=token, expires_at=datetime(2030, 1, 1, tzinfo=UTC))

    async def bearer(
        self, username: str | None, *, prefetched: Awaitable[BearerResponse] | None = None
    ) -> BearerResponse:
        if prefetched is not None:  # the answer the request middleware asked for early (bearer_prefetch)
            return await prefetched
        self.calls.append(("bearer", username, None))
        return self._next()

    async def force_refresh(self, username: str | None, *, rejected: str | None = None) -> BearerResponse:
        self.calls.append(("force_refresh", username, rejected))
        return self._next()


async def test_one_forced_refresh_names_the_refused_token_and_then_no_more() -> None:
    daemon = RecordingDaemon()
    bearer = DaemonBearer(daemon, None)  # type: ignore[arg-type]
    assert await bearer.current() == "token-1"
    assert bearer.account == "alice@x"  # the daemon resolved the default account
    assert await bearer.after_rejection("HTTP 401") == "token-2"
    assert await bearer.after_rejection("HTTP 401") is None
    assert daemon.calls == [("bearer", None, None), ("force_refresh", "alice@x", fingerprint("token-1"))]
    assert bearer.tokens == ["token-1", "token-2"]  # both are scrubbed from error text
    assert "alice@x even after refreshing it (HTTP 401)" in bearer.refused_message("Cway", "HTTP 401")


async def test_a_static_token_is_never_refreshed() -> None:
    bearer = StaticBearer("static-token")
    assert await bearer.current() == "static-token"
    assert await bearer.after_rejection("WebSocket close 4401") is None
    assert "refused CWAY_API_TOKEN (WebSocket close 4401)" in bearer.refused_message("Cway", "WebSocket close 4401")


async def test_the_http_road_retries_once_with_the_refreshed_token(httpx_mock: HTTPXMock) -> None:
    sent: list[str] = []  # read as each request goes out: the auth flow re-sends one request object

    def refuse(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["Authorization"])
        return httpx.Response(401)

    httpx_mock.add_callback(refuse, url=URL, is_reusable=True)
    bearer = DaemonBearer(RecordingDaemon(), "alice@x")  # type: ignore[arg-type]
    async with httpx.AsyncClient() as client:
        answer = await client.post(URL, json={}, auth=BearerAuth(bearer))
    assert answer.status_code == 401  # the second refusal is the caller's to report
    assert sent == ["Bearer token-1", "Bearer token-2"]
