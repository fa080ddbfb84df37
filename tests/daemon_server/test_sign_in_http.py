"""Sign-in end to end over the real socket and the real loopback listener, and that listener's defences."""

from __future__ import annotations

import base64
import json
import socket
from typing import Any

import httpx
import pytest

from cway_contract.contract import ErrorCode
from cway_contract.daemon_client import DaemonError
from cway_emulator.fixtures import ALICE
from cway_emulator.server import EmulatorServer
from tests.daemon_server.conftest import browser_sign_in
from tests.helpers.daemon import RunningDaemon, daemon_env, running_daemon


def _get(
    daemon: RunningDaemon,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    return httpx.request(
        method, daemon.callback_base + path, headers=headers, params=params, trust_env=False, timeout=30
    )


def test_full_sign_in_then_bearer(emu: EmulatorServer, emu_daemon: RunningDaemon) -> None:
    signed = browser_sign_in(emu_daemon, emu)
    assert signed.callback.status_code == 200
    assert signed.callback.headers["content-type"].startswith("text/html")
    assert signed.status.state == "completed" and signed.status.username
    bearer = emu_daemon.call(lambda c: c.bearer(None))
    assert bearer.username == signed.status.username
    assert bearer.access_token
    # the Cway emulator accepts it
    answer = httpx.post(
        emu.cway_api_url,
        json={"query": "{ loginInfo { user { username } } }"},
        headers={"Authorization": f"Bearer {bearer.access_token}"},
        trust_env=False,
    )
    assert answer.status_code == 200 and signed.status.username in answer.text
    account = emu_daemon.call(lambda c: c.account(bearer.username))
    assert account.state == "ok" and account.access_expires_at is not None


def test_direct_mode_sign_in_then_the_idp_bearer_works_at_cway(emu: EmulatorServer) -> None:
    """AUTH_FLOW=direct over the real socket: the daemon redeems at the IdP and Cway takes the IdP's token."""
    env = daemon_env({**emu.env(), "AUTH_FLOW": "direct", "AZURE_SCOPES": f"openid profile email {emu.cway_api_scope}"})
    emu.register_redirect_uri(env["AZURE_REDIRECT_URI"])
    with running_daemon(env) as daemon:
        signed = browser_sign_in(daemon, emu)
        assert signed.callback.status_code == 200, signed.callback.text
        assert signed.status.state == "completed" and signed.status.username == ALICE
        bearer = daemon.call(lambda c: c.bearer(None))
        assert bearer.username == ALICE
        health = daemon.call(lambda c: c.health())
        assert health.auth_flow == "direct"
    header, claims = (_jwt_part(bearer.access_token, i) for i in (0, 1))
    assert header["alg"] == "RS256" and claims["aud"] == emu.cway_app_id and claims["iss"] == emu.authority
    answer = httpx.post(
        emu.cway_api_url,
        json={"query": "{ loginInfo { user { username } } }"},
        headers={"Authorization": f"Bearer {bearer.access_token}"},
        trust_env=False,
    )
    assert answer.status_code == 200 and answer.json()["data"]["loginInfo"]["user"]["username"] == ALICE
    counters = emu.counters
    assert counters["idp_token_code"] == 1 and counters["cway_token_azure"] == 0
    assert counters["graphql"] == 2 and counters["graphql_unauthorized"] == 0  # the daemon's loginInfo, then ours


def _jwt_part(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return data


def test_callback_page_headers(emu: EmulatorServer, emu_daemon: RunningDaemon) -> None:
    page = browser_sign_in(emu_daemon, emu).callback
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["content-security-policy"].startswith("default-src 'none'; style-src 'unsafe-inline'")
    assert "<script" not in page.text and "http" not in page.text.split("<body>")[1]


def test_replayed_callback_is_rejected_and_stores_nothing(emu: EmulatorServer, emu_daemon: RunningDaemon) -> None:
    signed = browser_sign_in(emu_daemon, emu)
    before = emu_daemon.call(lambda c: c.accounts())
    replay = httpx.get(signed.redirect_url, trust_env=False, timeout=30)
    assert replay.status_code == 400
    assert replay.headers["content-type"].startswith("text/html")
    assert emu_daemon.call(lambda c: c.accounts()) == before


def test_callback_with_unknown_state_is_rejected(emu_daemon: RunningDaemon) -> None:
    page = _get(emu_daemon, "/callback", params={"code": "abc", "state": "forged-state"})
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert "forged-state" not in page.text and "abc" not in page.text.split("<body>")[1]
    assert emu_daemon.call(lambda c: c.accounts()) == []


def test_callback_with_repeated_parameter_is_rejected(emu_daemon: RunningDaemon) -> None:
    page = _get(emu_daemon, "/callback?code=a&state=s1&state=s2")
    assert page.status_code == 400
    assert emu_daemon.call(lambda c: c.accounts()) == []


@pytest.mark.parametrize("host", ["evil.example:{port}", "evil.example", "localhost:1", "127.0.0.2:{port}"])
def test_foreign_host_header_is_refused(daemon: RunningDaemon, host: str) -> None:
    port = daemon.settings.redirect.port
    page = _get(daemon, "/", headers={"Host": host.format(port=port)})
    assert page.status_code == 421
    assert "Cway accounts" not in page.text  # the accounts page was not served


@pytest.mark.parametrize("host", ["localhost:{port}", "127.0.0.1:{port}", "[::1]:{port}", "LOCALHOST:{port}"])
def test_loopback_host_headers_are_served(daemon: RunningDaemon, host: str) -> None:
    page = _get(daemon, "/", headers={"Host": host.format(port=daemon.settings.redirect.port)})
    assert page.status_code == 200 and "Cway accounts" in page.text


def test_request_without_host_header_is_refused(daemon: RunningDaemon) -> None:
    with socket.create_connection(("127.0.0.1", daemon.settings.redirect.port), timeout=10) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 421")


@pytest.mark.parametrize("path", ["/v1/token", "/v1/accounts", "/v1/health", "/v1/openapi.json", "/token", "/docs"])
def test_no_control_routes_on_the_tcp_port(daemon: RunningDaemon, path: str) -> None:
    assert _get(daemon, path).status_code == 404
    assert _get(daemon, path, method="POST").status_code == 405


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_only_get_and_head(daemon: RunningDaemon, method: str) -> None:
    # (POST is taken only by the accounts page's two form routes, see test_accounts_page.py.)
    for path in ("/", "/callback"):
        page = _get(daemon, path, method=method)
        assert page.status_code == 405
        assert page.headers["allow"] == "GET, HEAD"


def test_head_does_not_consume_a_callback(daemon: RunningDaemon) -> None:
    assert _get(daemon, "/callback?code=a&state=b", method="HEAD").status_code == 405
    assert _get(daemon, "/", method="HEAD").status_code == 200


def test_the_accounts_page_never_shows_a_token(emu: EmulatorServer, emu_daemon: RunningDaemon) -> None:
    # The owner sees who is signed in (tests/daemon_server/test_accounts_page.py: strangers see counts).
    signed = browser_sign_in(emu_daemon, emu)
    bearer = emu_daemon.call(lambda c: c.bearer(None))
    page = _get(emu_daemon, "/")
    assert page.status_code == 200
    assert signed.status.username and signed.status.username in page.text
    assert bearer.access_token not in page.text
    assert bearer.access_token[:24] not in page.text
    assert "eyJ" not in page.text
    assert page.headers["cache-control"] == "no-store"


def test_complete_by_pasting_the_redirect_url(emu: EmulatorServer, emu_daemon: RunningDaemon) -> None:
    from cway_contract.contract import SignInCompleteRequest

    flow = emu_daemon.call(lambda c: c.start_sign_in(None))
    assert flow.authorization_url
    location = emu.browser_sign_in(flow.authorization_url)  # the browser could not reach us: paste it
    done = emu_daemon.call(lambda c: c.complete_sign_in(SignInCompleteRequest(redirect_url=location)))
    assert done.state == "completed"
    with pytest.raises(DaemonError) as replay:
        emu_daemon.call(lambda c: c.complete_sign_in(SignInCompleteRequest(redirect_url=location)))
    assert replay.value.code in (ErrorCode.SIGN_IN_FAILED, ErrorCode.BAD_REQUEST, ErrorCode.NOT_FOUND)
