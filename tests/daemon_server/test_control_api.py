"""The control API on the socket: error shapes and codes, OpenAPI, the fail-closed peer guard."""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cway_authd.control.api import create_control_app
from cway_authd.control.peercred import PeerCredentials
from cway_authd.control.sockets import bind_control_socket
from cway_authd.runner import build_server
from cway_contract.contract import ErrorBody, ErrorCode, Route
from tests.helpers.daemon import RunningDaemon, short_tmpdir


def _socket_client(path: Path) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(uds=str(path)), base_url="http://cway-authd", timeout=15)


def _assert_error(response: httpx.Response, status: int, code: ErrorCode) -> ErrorBody:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    payload = response.json()
    assert {"error", "message"} <= payload.keys()
    assert payload["error"] == code.value and payload["message"]
    return ErrorBody.model_validate(payload)


def test_openapi_is_served_on_the_socket(daemon: RunningDaemon) -> None:
    with _socket_client(daemon.socket_path) as client:
        spec = client.get(Route.OPENAPI).json()
        account = Route.ACCOUNT.replace(":path", "")  # OpenAPI shows the parameter without its converter
        for route in (Route.HEALTH, Route.ACCOUNTS, account, Route.TOKEN, Route.TOKEN_REFRESH):
            assert route in spec["paths"]
        for route in (Route.SIGN_IN, Route.SIGN_IN_STATUS, Route.SIGN_IN_COMPLETE):
            assert route in spec["paths"]
        assert set(spec["paths"][account]) == {"get", "delete"}
        assert "ErrorBody" in spec["components"]["schemas"]
        _assert_error(client.get("/docs"), 404, ErrorCode.NOT_FOUND)
        _assert_error(client.get("/redoc"), 404, ErrorCode.NOT_FOUND)


def test_error_bodies_have_stable_codes(daemon: RunningDaemon) -> None:
    with _socket_client(daemon.socket_path) as client:
        _assert_error(client.get("/v1/nope"), 404, ErrorCode.NOT_FOUND)
        _assert_error(client.put(Route.TOKEN), 405, ErrorCode.BAD_REQUEST)
        _assert_error(
            client.post(Route.TOKEN, content=b"{not json", headers={"content-type": "application/json"}),
            400,
            ErrorCode.BAD_REQUEST,
        )
        wrong = _assert_error(client.post(Route.TOKEN, json={"username": 42}), 400, ErrorCode.BAD_REQUEST)
        assert "username" in wrong.message
        _assert_error(client.post(Route.TOKEN, json={}), 401, ErrorCode.NOT_SIGNED_IN)  # no account at all
        missing = client.get(f"{Route.ACCOUNTS}/nobody@example.com")
        assert missing.json()["error"] == ErrorCode.NOT_SIGNED_IN.value
        # A "/" in a username is part of the name, not another path segment.
        slashed = client.get(f"{Route.ACCOUNTS}/team%2Fnobody@example.com")
        assert slashed.json()["error"] == ErrorCode.NOT_SIGNED_IN.value
        assert "team/nobody@example.com" in slashed.json()["message"]
        _assert_error(client.get(Route.SIGN_IN_STATUS.format(flow_id="no-such-flow")), 404, ErrorCode.NOT_FOUND)


def test_validation_errors_do_not_echo_input(daemon: RunningDaemon) -> None:
    secret_ish = "code-value-that-must-not-be-echoed"
    with _socket_client(daemon.socket_path) as client:
        response = client.post(Route.SIGN_IN_COMPLETE, json={"redirect_url": ["x"], "code": {"a": secret_ish}})
    _assert_error(response, 400, ErrorCode.BAD_REQUEST)
    assert secret_ish not in response.text


class _ExplodingCore:
    """Just enough of DaemonCore for the app; every call fails in an unexpected way."""

    async def health(self, socket_path: str) -> Any:
        raise RuntimeError("database exploded with detail sk-123")

    async def bearer(self, username: str | None, peer: PeerCredentials) -> Any:
        self.peer = peer
        raise RuntimeError("boom")


@pytest.fixture
def exploding_socket() -> Iterator[tuple[Path, _ExplodingCore]]:
    """The real control app and the real peer-checked server on a socket, over a failing fake core."""
    base = short_tmpdir()
    path = base / "c.sock"
    core = _ExplodingCore()
    sock, _ = bind_control_socket(path)
    server = build_server(create_control_app(core, path), peer_checked=True)  # type: ignore[arg-type]

    async def serve() -> None:
        await server.serve(sockets=[sock])

    loop = asyncio.new_event_loop()
    import threading

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            threading.Event().wait(0.02)
        yield path, core
    finally:
        server.should_exit = True
        thread.join(20)
        loop.close()
        sock.close()
        shutil.rmtree(base, ignore_errors=True)


def test_unexpected_exceptions_become_generic_internal_errors(
    exploding_socket: tuple[Path, _ExplodingCore], caplog: pytest.LogCaptureFixture
) -> None:
    path, core = exploding_socket
    with _socket_client(path) as client:
        health = client.get(Route.HEALTH)
        token = client.post(Route.TOKEN, json={"username": "a@example.com"})
    body = _assert_error(health, 500, ErrorCode.INTERNAL)
    assert "sk-123" not in health.text and "exploded" not in body.message
    _assert_error(token, 500, ErrorCode.INTERNAL)
    assert core.peer.uid is not None and core.peer.pid is not None  # the peer reached the core
    assert "unexpected error serving GET /v1/health" in caplog.text


def test_the_app_fails_closed_without_a_verified_peer(exploding_socket: tuple[Path, _ExplodingCore]) -> None:
    """Served by a plain server (no SO_PEERCRED protocol), every request is 403 forbidden."""
    path, core = exploding_socket
    app = create_control_app(core, path)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)

    async def ask() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
            return await client.get(Route.HEALTH)

    _assert_error(asyncio.run(ask()), 403, ErrorCode.FORBIDDEN)


def test_socket_server_answers_http_1_1_keepalive(daemon: RunningDaemon) -> None:
    """Two requests on one connection: the per-connection peer state survives the first request."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(10)
        conn.connect(str(daemon.socket_path))
        request = b"GET /v1/health HTTP/1.1\r\nHost: cway-authd\r\n\r\n"
        conn.sendall(request + request)
        data = b""
        while data.count(b"HTTP/1.1 200") < 2:
            chunk = conn.recv(65536)
            assert chunk, data
            data += chunk


def test_token_routes_answer_the_contract_shapes_on_the_lean_path(daemon: RunningDaemon) -> None:
    """``/v1/token`` and ``/v1/token/refresh`` skip FastAPI's routing (token_route.py) but answer as before."""
    with _socket_client(daemon.socket_path) as client:
        for route in (Route.TOKEN, Route.TOKEN_REFRESH):
            for body in (b"", b"null", b"{}"):
                answer = client.post(route, content=body, headers={"content-type": "application/json"})
                _assert_error(answer, 401, ErrorCode.NOT_SIGNED_IN)  # the daemon has no account yet
            _assert_error(client.post(route, json={"username": ["x"]}), 400, ErrorCode.BAD_REQUEST)
            _assert_error(client.post(route, json={"rejected": 5}), 400, ErrorCode.BAD_REQUEST)
            _assert_error(client.post(route, content=b"x" * 70_000), 413, ErrorCode.BAD_REQUEST)
            _assert_error(client.get(route), 405, ErrorCode.BAD_REQUEST)
