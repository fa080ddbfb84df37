"""Knobs, injected failures, counters, the admin endpoint, logging hygiene and lifecycle."""

from __future__ import annotations

import logging
import socket
import threading
import time

import httpx
import pytest

from cway_emulator import EmulatorServer, KnobError
from cway_emulator.fixtures import ALICE, ARTWORK_IDS
from tests.emulator.conftest import Flow
from tests.helpers.emulator_gate import EndpointGate

LOGIN_INFO = "{ loginInfo { user { username } } }"
STATIC = "cway-static-alice-0001"


def test_injected_500_fires_count_times_then_clears(flow: Flow, emu: EmulatorServer) -> None:
    tokens = flow.cway_login()
    emu.knobs.fail("cway_token", "500", count=2)
    statuses = [flow.cway_refresh(tokens["refresh_token"]).status_code for _ in range(2)]
    assert statuses == [500, 500]
    ok = flow.cway_refresh(tokens["refresh_token"])  # the refresh token survived the outages
    assert ok.status_code == 200
    assert emu.counters["injected_failures"] == 2 and emu.counters["cway_token_refresh"] == 3
    assert emu.knobs.failures == []


def test_injected_429_carries_retry_after(flow: Flow, emu: EmulatorServer) -> None:
    emu.knobs.fail("graphql", "429", retry_after=7)
    throttled = flow.gql(STATIC, LOGIN_INFO)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    assert flow.gql(STATIC, LOGIN_INFO).status_code == 200


def test_injected_invalid_grant_at_idp_surfaces_through_cway(flow: Flow, emu: EmulatorServer) -> None:
    code = flow.code()
    emu.knobs.fail("idp_token", "invalid_grant")
    resp = flow.cway_exchange(code)
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"
    assert "AADSTS70000" in resp.json()["error_description"]
    assert flow.cway_exchange(code).status_code == 200  # the code itself was never consumed


def test_idp_outage_is_a_502_from_cway(flow: Flow, emu: EmulatorServer) -> None:
    code = flow.code()
    emu.knobs.fail("idp", "503")
    resp = flow.cway_exchange(code)
    assert resp.status_code == 502 and resp.json()["error"] == "server_error"


def test_graphql_injected_401(flow: Flow, emu: EmulatorServer) -> None:
    emu.knobs.fail("graphql", "401")
    assert flow.gql(STATIC, LOGIN_INFO).status_code == 401
    assert flow.gql(STATIC, LOGIN_INFO).status_code == 200


def test_hang_and_latency(flow: Flow, emu: EmulatorServer) -> None:
    emu.knobs.hang_seconds = 0.3
    emu.knobs.fail("graphql", "hang")
    started = time.monotonic()
    assert flow.gql(STATIC, LOGIN_INFO).status_code == 504
    assert time.monotonic() - started >= 0.3
    emu.knobs.latency = {"graphql": 0.25}
    started = time.monotonic()
    assert flow.gql(STATIC, LOGIN_INFO).status_code == 200
    assert time.monotonic() - started >= 0.25


def test_hanging_request_does_not_block_shutdown(
    clock: object, redirect_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request hanging for an hour: were ``stop`` to wait for it, the test's timeout would end it."""
    server = EmulatorServer(redirect_uris=[redirect_uri]).start()
    server.knobs.hang_seconds = 3600
    server.knobs.fail("graphql", "hang")
    graphql = EndpointGate(monkeypatch, "graphql", hold=False)

    def call() -> None:
        try:
            with httpx.Client(trust_env=False, timeout=30) as client:
                client.post(server.cway_api_url, json={"query": LOGIN_INFO}, headers={"Authorization": "Bearer x"})
        except httpx.HTTPError:
            pass

    caller = threading.Thread(target=call)
    caller.start()
    graphql.wait_for(1)  # the request is in the server, going into its hang
    server.stop()
    caller.join(10)
    assert not caller.is_alive()


def test_knob_validation(emu: EmulatorServer) -> None:
    with pytest.raises(KnobError):
        emu.knobs.fail("nowhere", "500")
    with pytest.raises(KnobError):
        emu.knobs.fail("graphql", "418")
    with pytest.raises(KnobError):
        emu.knobs.update({"no_such_knob": 1})
    with pytest.raises(KnobError):
        emu.knobs.update({"cway_access_lifetime": "long"})


def test_admin_endpoint_over_http(flow: Flow, emu: EmulatorServer, http: httpx.Client) -> None:
    admin = emu.cway_base_url + "/_emulator"
    resp = http.post(admin + "/knobs", json={"cway_access_lifetime": 60, "failures": [
        {"target": "graphql", "mode": "500", "count": 1}]})  # fmt: skip
    assert resp.status_code == 200 and resp.json()["cway_access_lifetime"] == 60
    assert STATIC not in resp.text  # token values are not echoed
    assert flow.cway_login()["expires_in"] == 60
    assert flow.gql(STATIC, LOGIN_INFO).status_code == 500
    counters = http.get(admin + "/counters").json()
    assert counters["cway_token_azure"] == 1 and counters["graphql"] == 1
    assert http.post(admin + "/knobs", json={"bogus": True}).status_code == 400
    # the IdP app serves the same admin API over the same state
    assert http.get(emu.idp_url + "/_emulator/counters").json() == http.get(admin + "/counters").json()
    issued = http.post(admin + "/static-tokens", json={"username": ALICE}).json()["token"]
    assert flow.gql(issued, LOGIN_INFO).status_code == 200
    http.post(admin + "/knobs", json={"revoke_users": [ALICE]})
    assert http.post(admin + "/reset").status_code == 200
    assert http.get(admin + "/counters").json()["graphql"] == 0
    assert http.get(admin + "/knobs").json()["cway_access_lifetime"] == 3600
    assert flow.gql(issued, LOGIN_INFO).status_code == 401  # issued tokens do not survive a reset
    assert flow.gql(STATIC, LOGIN_INFO).status_code == 200  # seeded ones come back


def test_reset_restores_fixtures(flow: Flow, emu: EmulatorServer) -> None:
    approve = f'mutation {{ approveArtwork(artworkId: "{ARTWORK_IDS[1]}") }}'
    assert flow.gql(STATIC, approve).json() == {"data": {"approveArtwork": True}}
    emu.reset()
    state = flow.gql(STATIC, f'{{ artwork(id: "{ARTWORK_IDS[1]}") {{ state }} }}').json()
    assert state["data"]["artwork"]["state"] == "FOR_REVIEW"
    assert emu.knobs.auto_approve  # start-up knobs survive a reset


def test_logs_carry_no_secrets(flow: Flow, emu: EmulatorServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    code = flow.code()
    tokens = flow.cway_exchange(code).json()
    flow.cway_refresh(tokens["refresh_token"])
    flow.gql(tokens["access_token"], LOGIN_INFO)
    flow.gql("forged-token-value", LOGIN_INFO)
    # httpcore's DEBUG trace is the *client* library echoing response headers (the test's own
    # browser sees the Location with the code); everything else, server side included, is checked.
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpcore"))
    assert "/oauth/token -> 200" in text and "/graphql -> 401" in text
    for secret in (code, tokens["access_token"], tokens["refresh_token"], "forged-token-value",
                   flow.verifier, emu.emulator.cway_client_secret):  # fmt: skip
        assert secret not in text


def test_stop_releases_ports_and_threads(redirect_uri: str) -> None:
    server = EmulatorServer(redirect_uris=[redirect_uri]).start()
    ports = [int(url.rsplit(":", 1)[1]) for url in (server.idp_url, server.cway_base_url)]
    server.stop()
    assert not [t for t in threading.enumerate() if t.name == "cway-emulator"]
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


async def test_async_context_manager(redirect_uri: str) -> None:
    async with EmulatorServer(auto_approve=True, redirect_uris=[redirect_uri]) as server:
        async with httpx.AsyncClient(trust_env=False) as client:
            resp = await client.get(server.authority + "/.well-known/openid-configuration")
        assert resp.json()["issuer"] == server.authority
    assert server.env()["CWAY_TOKEN_URL"].endswith("/oauth/token")


async def test_request_line_is_logged_before_the_response_leaves(caplog: pytest.LogCaptureFixture) -> None:
    """The line must exist by the time the client has the answer (it used to be written after the
    body was sent, so a test reading the log right after a request could miss it)."""
    from starlette.types import Message, Receive, Scope, Send

    from cway_emulator.http_common import QuietLogMiddleware

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 401, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    seen_at_start: list[bool] = []

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            seen_at_start.append(any("GET /graphql -> 401" in r.getMessage() for r in caplog.records))

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    caplog.set_level(logging.INFO, logger="cway_emulator")
    scope = {"type": "http", "method": "GET", "path": "/graphql"}
    await QuietLogMiddleware(app, "cway")(scope, receive, send)
    assert seen_at_start == [True]
    assert sum("-> 401" in r.getMessage() for r in caplog.records) == 1


async def test_request_line_for_an_app_that_crashed(caplog: pytest.LogCaptureFixture) -> None:
    from starlette.types import Message, Receive, Scope, Send

    from cway_emulator.http_common import QuietLogMiddleware

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    async def send(message: Message) -> None:
        pass

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    caplog.set_level(logging.INFO, logger="cway_emulator")
    with pytest.raises(RuntimeError):
        await QuietLogMiddleware(app, "cway")({"type": "http", "method": "POST", "path": "/x"}, receive, send)
    assert [r.getMessage() for r in caplog.records if r.name == "cway_emulator"] == ["cway POST /x -> 500"]
