"""Rate limits of the OAuth endpoints, on the real app (``build_app``: the SDK's routes, the consent page,
the middleware) with a real runtime on PostgreSQL, driven in process through ``httpx.ASGITransport`` with
a chosen client address, and time from a ``ManualClock`` (no sleeping). One spawned replica shows the
address uvicorn takes from ``X-Forwarded-For`` of a trusted proxy is what is limited."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from cway_contract.clock import ManualClock
from cway_contract.config import ConfigError
from cway_remote.app import RemoteRuntime, build_app
from cway_remote.ratelimit import RateLimits, TokenBuckets, caller_address, load_rate_limits, load_trusted_proxies
from cway_remote.ratelimit_middleware import basic_client_id
from cway_remote.settings import load_remote_settings
from tests.helpers.remote import start_replica

REGISTRATION = {
    "redirect_uris": ["http://127.0.0.1:1/cb"],
    "token_endpoint_auth_method": "none",
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
}
LIMITS = {
    "CWAY_MCP_RATE_REGISTER": "3",
    "CWAY_MCP_RATE_AUTHORIZE": "2",
    "CWAY_MCP_RATE_CONSENT": "2",
    "CWAY_MCP_RATE_TOKEN": "2",
    "CWAY_MCP_RATE_TOKEN_IP": "8",
}

Client = Callable[[str], httpx.AsyncClient]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def runtime(serve_env: dict[str, str], base_dir: Path, clock: ManualClock) -> AsyncIterator[RemoteRuntime]:
    settings = load_remote_settings({**serve_env, **LIMITS}, cwd=base_dir)
    made = await RemoteRuntime.create(settings, clock=clock, pool_size=2)
    yield made
    await made.aclose()


@pytest.fixture
async def client_from(runtime: RemoteRuntime) -> AsyncIterator[Client]:
    """``client_from(ip)``: an HTTP client whose requests reach the app from that address."""
    app = build_app(runtime)
    made: list[httpx.AsyncClient] = []

    def make(ip: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(ip, 40000))
        made.append(httpx.AsyncClient(transport=transport, base_url=runtime.settings.public_url))
        return made[-1]

    yield make
    for http in made:
        await http.aclose()


def audited(caplog: pytest.LogCaptureFixture, event: str) -> list[dict[str, Any]]:
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "cway_remote.audit"]
    return [line for line in lines if line["audit"] == event]


async def _clients(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        count = await conn.fetchval("SELECT count(*) FROM oauth_clients")
    assert isinstance(count, int)
    return count


async def test_registration_is_limited_per_address_answers_429_and_recovers_as_time_passes(
    runtime: RemoteRuntime, client_from: Client, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cway_remote.audit")
    flood, other = client_from("198.51.100.7"), client_from("198.51.100.8")
    for _ in range(3):
        assert (await flood.post("/register", json=REGISTRATION)).status_code == 201
    refused = await flood.post("/register", json=REGISTRATION, headers={"Origin": "https://inspector.example"})
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "20"  # 3 a minute: one more in 20 s
    assert refused.headers["access-control-allow-origin"] == "*"  # a browser client can read the 429
    assert refused.json()["error"] == "temporarily_unavailable"
    assert (await flood.post("/register", json=REGISTRATION)).status_code == 429
    assert await _clients(runtime.pool) == 3  # a refused registration wrote nothing

    assert (await other.post("/register", json=REGISTRATION)).status_code == 201  # one flood limits only itself

    clock.advance(19)
    assert (await flood.post("/register", json=REGISTRATION)).status_code == 429
    clock.advance(1)
    assert (await flood.post("/register", json=REGISTRATION)).status_code == 201
    assert await _clients(runtime.pool) == 5

    events = audited(caplog, "rate_limited")
    assert len(events) == 1  # once per episode (until allowed again), not once per refused request
    assert events[0]["endpoint"] == "register" and events[0]["client_ip"] == "198.51.100.7"


async def test_the_token_limit_answers_alike_for_a_registered_and_an_unknown_client_id(
    client_from: Client, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cway_remote.audit")
    http = client_from("198.51.100.20")
    registered = (await http.post("/register", json=REGISTRATION)).json()["client_id"]
    answers = {}
    for client_id in (registered, "no-such-client-0123456789"):
        form = {"grant_type": "refresh_token", "refresh_token": "cwm_rt_not-a-token", "client_id": client_id}
        for _ in range(2):
            assert (await http.post("/token", data=form)).status_code in (400, 401)
        refused = await http.post("/token", data=form)
        assert refused.status_code == 429
        answers[client_id] = (refused.headers["retry-after"], refused.content)
    assert answers[registered] == answers["no-such-client-0123456789"]  # nothing tells them apart
    assert json.loads(answers[registered][1])["error"] == "slow_down"

    # The same client id from another address has its own allowance: nobody can use up a
    # (public) client's limit for everyone by sending its id.
    form = {"grant_type": "refresh_token", "refresh_token": "cwm_rt_not-a-token", "client_id": registered}
    assert (await client_from("198.51.100.21").post("/token", data=form)).status_code in (400, 401)
    # client_secret_basic counts the same id: the id comes from the header, the secret is dropped.
    basic = httpx.BasicAuth(registered, "not-the-secret")
    form.pop("client_id")
    assert (await http.post("/token", data=form, auth=basic)).status_code == 429

    # Many client ids from one address still meet the per-address cap (8 a minute here).
    clock.advance(60)
    for n in range(8):
        extra = {"grant_type": "refresh_token", "refresh_token": "x", "client_id": f"rotating-{n}"}
        assert (await http.post("/token", data=extra)).status_code != 429
    assert (await http.post("/token", data={**extra, "client_id": "rotating-9"})).status_code == 429
    secrets_seen = [e for e in caplog.records if "cwm_rt_" in e.getMessage() or "not-the-secret" in e.getMessage()]
    assert secrets_seen == []


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/authorize"), ("POST", "/consent"), ("GET", "/consent"), ("GET", "/oauth/callback")],
)
async def test_the_browser_endpoints_are_limited_per_address(
    client_from: Client, clock: ManualClock, method: str, path: str
) -> None:
    flood = client_from("2001:db8:1:2::7")
    for _ in range(2):
        assert (await flood.request(method, path)).status_code != 429
    # another address in the same IPv6 /64 is the same caller
    refused = await client_from("2001:db8:1:2::8").request(method, path)
    assert refused.status_code == 429 and refused.json()["error"] == "temporarily_unavailable"
    assert refused.headers["retry-after"] == "30"
    assert (await client_from("2001:db8:1:3::7").request(method, path)).status_code != 429
    clock.advance(30)
    assert (await flood.request(method, path)).status_code != 429


@pytest.mark.slow
async def test_a_trusted_proxys_forwarded_address_is_the_one_limited(serve_env: dict[str, str]) -> None:
    env = {**serve_env, "CWAY_MCP_RATE_REGISTER": "1", "CWAY_MCP_TRUSTED_PROXIES": "127.0.0.1"}
    replica = start_replica(env)
    try:
        async with httpx.AsyncClient(base_url=replica.url) as http:

            async def register(forwarded_for: str) -> int:
                headers = {"X-Forwarded-For": forwarded_for}
                return (await http.post("/register", json=REGISTRATION, headers=headers)).status_code

            assert await register("203.0.113.1") == 201
            assert await register("203.0.113.1") == 429
            assert await register("203.0.113.2") == 201  # same peer, another client behind the proxy
    finally:
        replica.stop()
    events = [json.loads(line) for line in replica.log_text().splitlines() if '"rate_limited"' in line]
    assert [e["client_ip"] for e in events] == ["203.0.113.1"]


def test_rate_settings_have_defaults_and_refuse_what_is_not_a_count() -> None:
    assert load_rate_limits({}) == RateLimits(
        register=10, authorize=30, consent=90, token_per_client=60, token_per_ip=300
    )
    assert load_rate_limits({"CWAY_MCP_RATE_REGISTER": "0"}).register == 0
    for bad in ("-1", "ten", "1.5"):
        with pytest.raises(ConfigError, match="requests per minute"):
            load_rate_limits({"CWAY_MCP_RATE_TOKEN": bad})
    assert load_trusted_proxies({"CWAY_MCP_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.5"}) == "10.0.0.0/8,192.168.1.5"
    with pytest.raises(ConfigError, match="networks"):
        load_trusted_proxies({"CWAY_MCP_TRUSTED_PROXIES": "lb.internal"})


def test_a_limit_of_zero_is_off_and_the_table_of_callers_is_bounded() -> None:
    clock = ManualClock()
    off = TokenBuckets(0, clock)
    assert all(off.take("a").allowed for _ in range(1000))
    bounded = TokenBuckets(1, clock, max_keys=100)
    for n in range(1000):
        bounded.take(f"caller-{n}")
    assert len(bounded) == 100
    assert caller_address("::ffff:198.51.100.7") == "198.51.100.7" and caller_address(None) == "unknown"
    assert basic_client_id({"headers": [(b"authorization", b"Basic !!")]}) is None
