"""The Cway side of the gateway, pinned with pytest-httpx: request shape and every error mapping.

Static mode needs no daemon, so these run without any process. The daemon side (bearers, the
401 → forced refresh → retry) is exercised against the real daemon in the end-to-end tests.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from mcp.server.mcpserver.exceptions import ToolError
from pytest_httpx import HTTPXMock

from cway_contract.config import Settings, load_settings
from cway_tools.documents import LOGIN_INFO, PROJECTS
from cway_tools.error_text import scrub
from cway_tools.gateway import CwayHttpGateway

API = "http://127.0.0.1:9/graphql"
TOKEN = "static-token-0123456789abcdef"


def settings(tmp_path: Path, **extra: str) -> Settings:
    env = {
        "AUTH_METHOD": "static",
        "CWAY_API_TOKEN": TOKEN,
        "CWAY_API_URL": API,
        "CWAY_MCP_CONFIG": "",
        "CWAY_MCP_SOCKET": str(tmp_path / "d.sock"),
        "CWAY_MCP_STATE_DIR": str(tmp_path / "state"),
        "CWAY_MCP_HTTP_TIMEOUT": "2.5",
        **extra,
    }
    return load_settings(env, component="shim", cwd=tmp_path)


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[CwayHttpGateway]:
    gw = CwayHttpGateway(settings(tmp_path), None)
    try:
        yield gw
    finally:
        await gw.aclose()


async def test_request_shape(gateway: CwayHttpGateway, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(method="POST", url=API, json={"data": {"projects": {"projects": []}}})
    data = await gateway.execute(PROJECTS, {"paging": {"page": 0, "pageSize": 5}})
    assert data == {"projects": {"projects": []}}
    (request,) = httpx_mock.get_requests()
    assert request.method == "POST"
    assert str(request.url) == API
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("cway-mcp/")
    assert json.loads(request.content) == {
        "query": PROJECTS.text,
        "variables": {"paging": {"page": 0, "pageSize": 5}},
        "operationName": PROJECTS.name,
    }


async def test_execute_text_without_operation_name(gateway: CwayHttpGateway, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"data": {"status": "ok"}})
    assert await gateway.execute_text("{ status }", None, None, username=None) == {"status": "ok"}
    assert json.loads(httpx_mock.get_requests()[0].content) == {"query": "{ status }", "variables": {}}


async def test_graphql_errors_become_one_short_message(gateway: CwayHttpGateway, httpx_mock: HTTPXMock) -> None:
    errors = [{"message": f"problem {i}", "path": ["x"]} for i in range(5)]
    httpx_mock.add_response(json={"data": None, "errors": errors})
    with pytest.raises(ToolError) as info:
        await gateway.execute(LOGIN_INFO)
    assert str(info.value) == "Cway reported an error: problem 0; problem 1; problem 2 (and 2 more)"


async def test_graphql_errors_on_http_400_are_still_graphql_errors(
    gateway: CwayHttpGateway, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(status_code=400, json={"errors": [{"message": 'Cannot query field "nope"'}]})
    with pytest.raises(ToolError, match=r'^Cway reported an error: Cannot query field "nope"$'):
        await gateway.execute_text("{ nope }", None, None, username=None)


async def test_an_echoed_token_is_scrubbed(gateway: CwayHttpGateway, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"errors": [{"message": f"bad header Bearer {TOKEN}"}]})
    with pytest.raises(ToolError) as info:
        await gateway.execute(LOGIN_INFO)
    assert TOKEN not in str(info.value)
    assert "[redacted]" in str(info.value)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (503, "Cway answered HTTP 503 Service Unavailable: Cway is having trouble; try again shortly."),
        (500, "Cway answered HTTP 500 Internal Server Error: Cway is having trouble; try again shortly."),
        (403, "Cway answered HTTP 403 Forbidden: this account may not do that in Cway."),
        (404, "Cway answered HTTP 404 Not Found."),
    ],
)
async def test_http_errors(gateway: CwayHttpGateway, httpx_mock: HTTPXMock, status: int, expected: str) -> None:
    httpx_mock.add_response(status_code=status, text="<html>oops</html>")
    with pytest.raises(ToolError) as info:
        await gateway.execute(LOGIN_INFO)
    assert str(info.value) == expected


async def test_429_mentions_retry_after(gateway: CwayHttpGateway, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=429, headers={"Retry-After": "7"})
    with pytest.raises(ToolError, match=r"HTTP 429 Too Many Requests: too many requests; retry after 7 s\.$"):
        await gateway.execute(LOGIN_INFO)


async def test_static_401_says_what_to_do(gateway: CwayHttpGateway, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=401, json={"errors": [{"message": "Unauthorized"}]})
    with pytest.raises(ToolError) as info:
        await gateway.execute(LOGIN_INFO)
    assert "refused CWAY_API_TOKEN (HTTP 401)" in str(info.value)
    assert "AUTH_METHOD=oauth2" in str(info.value)
    assert len(httpx_mock.get_requests()) == 1  # static mode has nothing to refresh: no retry


async def test_timeout(gateway: CwayHttpGateway, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(httpx.ReadTimeout("read timed out"))
    with pytest.raises(ToolError, match=r"^Cway did not answer within 2\.5 s \(127\.0\.0\.1:9\)"):
        await gateway.execute(LOGIN_INFO)


async def test_unreachable(gateway: CwayHttpGateway, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(httpx.ConnectError("connection refused"))
    with pytest.raises(ToolError, match=r"^Cway cannot be reached at 127\.0\.0\.1:9 \(ConnectError\)"):
        await gateway.execute(LOGIN_INFO)


async def test_a_query_on_a_connection_the_server_just_closed_is_sent_once_more(
    gateway: CwayHttpGateway, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_exception(httpx.ReadError("connection reset"))
    httpx_mock.add_response(json={"data": {"loginInfo": {"id": "u1"}}})
    assert await gateway.execute(LOGIN_INFO) == {"loginInfo": {"id": "u1"}}
    assert len(httpx_mock.get_requests()) == 2


async def test_a_mutation_is_never_sent_twice(gateway: CwayHttpGateway, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(httpx.ReadError("connection reset"))
    with pytest.raises(ToolError, match=r"cannot be reached .*\(ReadError\)"):
        await gateway.execute_text("mutation { closeProjects(projectIds: []) }", None, None)
    assert len(httpx_mock.get_requests()) == 1


async def test_not_json(gateway: CwayHttpGateway, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(text="<html>login page</html>", headers={"Content-Type": "text/html"})
    with pytest.raises(
        ToolError, match=r"^Cway answered HTTP 200 with something that is not GraphQL JSON \(text/html\)"
    ):
        await gateway.execute(LOGIN_INFO)


async def test_no_data(gateway: CwayHttpGateway, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"data": None})
    with pytest.raises(ToolError, match="without data and without errors"):
        await gateway.execute(LOGIN_INFO)


async def test_redirects_are_not_followed(gateway: CwayHttpGateway, httpx_mock: HTTPXMock) -> None:
    # Following one would send the bearer to wherever the Location points.
    httpx_mock.add_response(status_code=302, headers={"Location": "https://evil.example/graphql"})
    with pytest.raises(ToolError, match="HTTP 302"):
        await gateway.execute(LOGIN_INFO)
    assert len(httpx_mock.get_requests()) == 1


def test_scrub() -> None:
    assert scrub("a tok b tok", ["tok", ""]) == "a [redacted] b [redacted]"


def test_oauth2_needs_a_daemon(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="bearer source"):
        CwayHttpGateway(settings(tmp_path, AUTH_METHOD="oauth2"), None)


async def test_a_5xx_is_reported_by_status_even_with_graphql_errors(
    gateway: CwayHttpGateway, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(status_code=503, json={"errors": [{"message": "upstream connect error"}]})
    with pytest.raises(ToolError, match=r"^Cway answered HTTP 503 Service Unavailable: Cway is having trouble"):
        await gateway.execute(LOGIN_INFO)


async def test_an_unreadable_body_is_a_short_tool_error(gateway: CwayHttpGateway, httpx_mock: HTTPXMock) -> None:
    """A body that does not decode (a proxy mangling gzip) used to escape as a bare httpx error."""
    httpx_mock.add_response(headers={"Content-Encoding": "gzip"}, content=b"this is not gzip")
    with pytest.raises(ToolError) as info:
        await gateway.execute(LOGIN_INFO)
    assert "could not be read (DecodingError)" in str(info.value) and TOKEN not in str(info.value)
