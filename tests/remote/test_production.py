"""``cway-mcp serve`` as operated: metrics without secrets, the SIGTERM drain, rolling restarts behind a
balancer with no failed call, and a PostgreSQL restart that the replicas ride out by themselves.

Every replica here is the real entry point in its own process, against the emulator and a real
PostgreSQL cluster; the balancer probes ``/readyz`` as Kubernetes' endpoints controller does.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from cryptography.fernet import Fernet, MultiFernet

from cway_contract.clock import SYSTEM_CLOCK
from cway_emulator.fixtures import ALICE
from cway_emulator.server import EmulatorServer
from cway_remote.pg_store import PgTokenStore
from tests.helpers.balancer import Balancer, serving
from tests.helpers.daemon import free_port
from tests.helpers.postgres import PgCluster, temporary_cluster
from tests.helpers.remote import McpSession, MemoryTokenStorage, OAuthBrowser, Replica, oauth_client, start_replica

pytestmark = pytest.mark.slow

CALL_HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}


async def _sign_in(url: str, username: str) -> MemoryTokenStorage:
    storage = MemoryTokenStorage()
    async with McpSession(url + "/mcp", oauth_client(url + "/mcp", OAuthBrowser(username), storage)):
        pass
    assert storage.tokens is not None
    return storage


async def _call(http: httpx.AsyncClient, url: str, token: str, tool: str = "list_organisations") -> httpx.Response:
    return await http.post(
        url + "/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": {}}},
        headers={**CALL_HEADERS, "Authorization": f"Bearer {token}"},
    )


def _ok(response: httpx.Response) -> bool:
    return response.status_code == 200 and not response.json().get("result", {}).get("isError", True)


def _metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition ``text`` (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def _stored_cway_tokens(database_url: str, key: str) -> list[str]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:

        class _Keys:
            multifernet = MultiFernet([Fernet(key.encode())])

        store = PgTokenStore(pool, _Keys(), SYSTEM_CLOCK, due_at=lambda r: r.access_expires_at)
        record = await store.load(ALICE)
        assert record is not None
        return [record.access_token, record.refresh_token or ""]
    finally:
        await pool.close()


async def test_metrics_count_the_work_and_hold_no_secret(
    serve_env: dict[str, str], public_port: int, emu: EmulatorServer, database_url: str, store_key: str
) -> None:
    replica = start_replica(serve_env, public_port)
    try:
        storage = await _sign_in(replica.url, ALICE)
        assert storage.tokens is not None
        token = storage.tokens.access_token
        async with httpx.AsyncClient(timeout=30) as http:
            for _ in range(3):
                assert _ok(await _call(http, replica.url, token))
            unknown = await _call(http, replica.url, token, tool="no_such_tool_" + "x" * 40)
            assert unknown.status_code == 200
            refused = await _call(http, replica.url, "not-a-token")
            assert refused.status_code == 401
            scrape = await http.get(replica.url + "/metrics")
        assert scrape.status_code == 200
        assert scrape.headers["content-type"].startswith("text/plain")
        text = scrape.text

        assert _metric(text, "cway_mcp_tool_calls_total", tool="list_organisations", outcome="ok") == 3
        assert _metric(text, "cway_mcp_tool_calls_total", tool="unknown") == 1  # a made-up name is no series
        assert "no_such_tool" not in text
        assert _metric(text, "cway_mcp_http_requests_total", route="/mcp", method="POST", status="401") >= 1
        assert _metric(text, "cway_mcp_sign_ins_total", outcome="completed") == 1
        assert _metric(text, "cway_mcp_upstream_responses_total", upstream="cway", status="200") >= 3
        assert _metric(text, "cway_mcp_db_pool_max") >= 1
        assert _metric(text, "cway_mcp_tool_call_duration_seconds_count", tool="list_organisations") == 3

        secrets = [
            token,
            storage.tokens.refresh_token or "",
            storage.client_info.client_id if storage.client_info else "",
            *await _stored_cway_tokens(database_url, store_key),
        ]
        for secret in filter(None, secrets):
            assert secret not in text
        for word in (ALICE, ALICE.split("@")[0], "@"):
            assert word not in text, f"{word!r} in the metrics"
    finally:
        replica.stop()


async def test_sigterm_drains_ready_goes_503_in_flight_calls_finish(
    serve_env: dict[str, str], public_port: int, emu: EmulatorServer
) -> None:
    replica = start_replica(
        {**serve_env, "CWAY_MCP_DRAIN_SECONDS": "2", "CWAY_MCP_GRACEFUL_SECONDS": "10"}, public_port
    )
    try:
        storage = await _sign_in(replica.url, ALICE)
        assert storage.tokens is not None
        token = storage.tokens.access_token
        emu.knobs.update({"latency": {"graphql": 3.0}})  # a call longer than the drain window
        async with httpx.AsyncClient(timeout=30) as http:
            assert (await http.get(replica.url + "/readyz")).status_code == 200
            slow = asyncio.create_task(_call(http, replica.url, token))
            await asyncio.sleep(0.5)  # the call is in flight at the replica
            replica.process.send_signal(signal.SIGTERM)
            ready = await _poll_status(http, replica.url + "/readyz", 503, within=1.0)
            assert ready.json() == {"status": "draining"}
            emu.knobs.update({"latency": {}})
            await asyncio.sleep(0.5)
            async with httpx.AsyncClient(timeout=30) as fresh:  # a new connection: the listener is still open
                assert (await fresh.get(replica.url + "/healthz")).status_code == 200
                answered = await _call(fresh, replica.url, token)
            assert _ok(answered)
            assert answered.headers.get("connection") == "close"  # the client moves on to another replica
            assert _ok(await slow)  # the call in flight finished
        assert replica.process.wait(20) == 0
        assert "draining" in replica.log_text()
    finally:
        replica.stop()


async def _poll_status(http: httpx.AsyncClient, url: str, status: int, *, within: float) -> httpx.Response:
    deadline = time.monotonic() + within
    while True:
        response = await http.get(url)
        if response.status_code == status or time.monotonic() > deadline:
            assert response.status_code == status, f"{url} answered {response.status_code}, not {status}"
            return response
        await asyncio.sleep(0.05)


class _Load:
    """``clients`` callers POSTing tool calls through ``url`` until stopped, each outcome counted."""

    def __init__(self, url: str, token: str, clients: int) -> None:
        self.url, self.token, self.clients = url, token, clients
        self.outcomes: Counter[str] = Counter()
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        limits = httpx.Limits(max_connections=self.clients)
        async with httpx.AsyncClient(timeout=30, limits=limits) as http:
            await asyncio.gather(*(self._client(http) for _ in range(self.clients)))

    async def _client(self, http: httpx.AsyncClient) -> None:
        while not self._stop.is_set():
            try:
                response = await _call(http, self.url, self.token)
                outcome = "ok" if _ok(response) else str(response.status_code)
                if outcome != "ok" and len(self.failures) < 5:
                    self.failures.append(response.text[:300])
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            self.outcomes[outcome] += 1

    def __enter__(self) -> _Load:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(60)

    def wait_for(self, calls: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        target = sum(self.outcomes.values()) + calls
        while sum(self.outcomes.values()) < target:
            assert time.monotonic() < deadline, f"load stalled: {self.outcomes}"
            time.sleep(0.05)


def _wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        assert time.monotonic() < deadline, f"{url} never became ready"
        time.sleep(0.05)


async def test_rolling_restart_under_load_fails_no_call(serve_env: dict[str, str], public_port: int) -> None:
    env = {**serve_env, "CWAY_MCP_DRAIN_SECONDS": "1", "CWAY_MCP_GRACEFUL_SECONDS": "10"}
    ports = [free_port(), free_port()]
    replicas = [start_replica(env, port) for port in ports]
    balancer = Balancer([r.url for r in replicas], ready_path="/readyz", probe_interval=0.1)
    try:
        with serving(balancer.app, public_port, lifespan=True):
            public = f"http://127.0.0.1:{public_port}"
            storage = await _sign_in(public, ALICE)
            assert storage.tokens is not None
            with _Load(public, storage.tokens.access_token, clients=16) as load:
                load.wait_for(50)
                for index, port in enumerate(ports):
                    old = replicas[index]
                    old.process.send_signal(signal.SIGTERM)
                    assert old.process.wait(30) == 0
                    replicas[index] = start_replica(env, port)  # the new release, same address
                    _wait_ready(replicas[index].url)
                    load.wait_for(50)
            served = dict(balancer.served)
        assert set(load.outcomes) == {"ok"}, (load.outcomes, load.failures)
        assert load.outcomes["ok"] >= 150
        assert all(served.get(r.url, 0) > 0 for r in replicas), served
    finally:
        for replica in replicas:
            replica.stop()


@pytest.fixture
def own_cluster() -> Iterator[PgCluster]:
    """A cluster this test may stop and start (the session's is shared with other tests)."""
    try:
        with temporary_cluster() as cluster:
            yield cluster
    except LookupError as exc:
        pytest.skip(str(exc))


async def test_postgres_restart_under_load_answers_503_then_recovers_without_replica_restart(
    serve_env: dict[str, str], public_port: int, own_cluster: PgCluster
) -> None:
    database_url = own_cluster.create_database()
    env = {**serve_env, "CWAY_MCP_DATABASE_URL": database_url}
    replica: Replica = start_replica(env, public_port)
    try:
        storage = await _sign_in(replica.url, ALICE)
        assert storage.tokens is not None
        pid = replica.process.pid
        with _Load(replica.url, storage.tokens.access_token, clients=4) as load:
            load.wait_for(20)
            own_cluster.stop_server()
            before_outage = Counter(load.outcomes)
            load.wait_for(20)  # calls keep being answered while the database is away...
            during = Counter(load.outcomes)
            during.subtract(before_outage)
            async with httpx.AsyncClient(timeout=10) as http:
                assert (await http.get(replica.url + "/readyz")).status_code == 503
                assert (await http.get(replica.url + "/healthz")).status_code == 200
            own_cluster.start_server()
            _wait_ready(replica.url)
            settled = Counter(load.outcomes)
            load.wait_for(30)
            after = Counter(load.outcomes)
            after.subtract(settled)
        assert set(k for k, v in during.items() if v) <= {"503", "ok"}, during  # ...with 503, never a 500
        assert during["503"] > 0, during
        assert set(k for k, v in after.items() if v) == {"ok"}, (after, load.failures)
        assert replica.process.poll() is None and replica.process.pid == pid  # no restart needed
        async with httpx.AsyncClient(timeout=10) as http:  # the same token: nothing was lost
            assert _ok(await _call(http, replica.url, storage.tokens.access_token))
    finally:
        replica.stop()


async def _revoke_via_endpoint(http: httpx.AsyncClient, url: str, storage: MemoryTokenStorage) -> None:
    """RFC 7009 at ``url`` (one replica): the client revokes its own access token."""
    assert storage.tokens is not None and storage.client_info is not None
    response = await http.post(
        url + "/revoke",
        data={
            "token": storage.tokens.access_token,
            "client_id": storage.client_info.client_id,
            "client_secret": storage.client_info.client_secret or "",  # the SDK's form wants the field
        },
    )
    assert response.status_code == 200, response.text


async def test_a_revocation_on_one_replica_refuses_the_token_on_another_within_a_second(
    serve_env: dict[str, str], public_port: int
) -> None:
    a = start_replica(serve_env, public_port)
    b = start_replica(serve_env)
    try:
        storage = await _sign_in(a.url, ALICE)
        assert storage.tokens is not None
        token = storage.tokens.access_token
        async with httpx.AsyncClient(timeout=30) as http:
            for _ in range(5):  # B has the token (and Alice's Cway record) in its read caches now
                assert _ok(await _call(http, b.url, token))
            hits = _metric((await http.get(b.url + "/metrics")).text, "cway_mcp_read_cache_hits_total", cache="tokens")
            assert hits >= 4, "the warm-up calls were not served from B's cache: this test would prove nothing"
            await _revoke_via_endpoint(http, a.url, storage)
            revoked_at = time.monotonic()
            while True:
                status = (await _call(http, b.url, token)).status_code
                elapsed = time.monotonic() - revoked_at
                if status == 401:
                    break
                assert elapsed < 1.0, f"B still accepted the revoked token after {elapsed:.2f} s"
                await asyncio.sleep(0.01)
    finally:
        a.stop()
        b.stop()


async def test_a_lost_change_listener_comes_back_with_empty_caches(
    serve_env: dict[str, str], public_port: int, database_url: str
) -> None:
    """Notifications sent while the listener was gone are lost, so nothing cached before the loss may be
    served after it: the replica reconnects by itself and starts with empty caches. (Between the cut and
    the moment the replica notices it, the caches still answer: that window is the connection's close
    notice, documented in docs/deploy.md.)"""
    replica = start_replica(serve_env, public_port)
    try:
        storage = await _sign_in(replica.url, ALICE)
        assert storage.tokens is not None
        token = storage.tokens.access_token
        async with httpx.AsyncClient(timeout=30) as http:
            assert _ok(await _call(http, replica.url, token))
            assert _ok(await _call(http, replica.url, token))  # now cached
            admin = await asyncpg.connect(database_url)
            listening = "SELECT pid FROM pg_stat_activity WHERE query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()"
            try:
                (cut,) = [row["pid"] for row in await admin.fetch(listening)]
                await admin.execute("SELECT pg_terminate_backend($1)", cut)
                deadline = time.monotonic() + 15  # the replica reconnects by itself
                while [row["pid"] for row in await admin.fetch(listening)] in ([], [cut]):
                    assert time.monotonic() < deadline, "the change listener did not reconnect"
                    await asyncio.sleep(0.05)
                # A change the replica cannot hear about (triggers off): only an empty cache gets it right.
                async with admin.transaction():
                    await admin.execute("SET LOCAL session_replication_role = replica")
                    await admin.execute("DELETE FROM oauth_tokens WHERE kind = 'access'")
            finally:
                await admin.close()
            assert (await _call(http, replica.url, token)).status_code == 401
            assert _metric((await http.get(replica.url + "/metrics")).text, "cway_mcp_read_cache_live") == 1
    finally:
        replica.stop()


class _Collector:
    """An OTLP/HTTP trace receiver on loopback: what an OpenTelemetry collector would be sent."""

    def __init__(self) -> None:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        self.spans: list[dict[str, Any]] = []

        async def traces(request: Request) -> Response:
            from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

            export = ExportTraceServiceRequest()
            export.ParseFromString(await request.body())
            for resource_spans in export.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans.append(
                            {
                                "name": span.name,
                                "trace": span.trace_id.hex(),
                                "attributes": {a.key: str(a.value).strip() for a in span.attributes},
                            }
                        )
            return Response(b"", media_type="application/x-protobuf")

        self.app = Starlette(routes=[Route("/v1/traces", traces, methods=["POST"])])


async def test_traces_follow_a_tool_call_across_server_postgres_and_cway_and_hold_no_secret(
    serve_env: dict[str, str], public_port: int, database_url: str, store_key: str
) -> None:
    collector = _Collector()
    port = free_port()
    env = {
        **serve_env,
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{port}/v1/traces",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    with serving(collector.app, port):
        replica = start_replica(env, public_port)
        try:
            storage = await _sign_in(replica.url, ALICE)
            assert storage.tokens is not None
            async with httpx.AsyncClient(timeout=30) as http:
                assert _ok(await _call(http, replica.url, storage.tokens.access_token))
            tool_spans: list[dict[str, Any]] = []
            deadline = time.monotonic() + 10
            while not tool_spans:
                assert time.monotonic() < deadline, [s["name"] for s in collector.spans]
                await asyncio.sleep(0.1)
                tool_spans = [s for s in collector.spans if s["name"] == "tools/call list_organisations"]
            await asyncio.sleep(0.5)
        finally:
            replica.stop()
    trace = [s for s in collector.spans if s["trace"] == tool_spans[0]["trace"]]
    names = [s["name"] for s in trace]
    assert "POST /mcp" in names, names  # the server span the tool call sits in
    assert any("postgresql" in s["attributes"].get("db.system", "") for s in trace), names  # the bearer check
    assert any("POST" in s["name"] and "127.0.0.1" in str(s["attributes"]) for s in trace if s["name"] != "POST /mcp")
    everything = repr(collector.spans)
    secrets = [
        storage.tokens.access_token,
        storage.tokens.refresh_token or "",
        *await _stored_cway_tokens(database_url, store_key),
    ]
    for secret in filter(None, secrets):
        assert secret not in everything
    assert ALICE not in everything
