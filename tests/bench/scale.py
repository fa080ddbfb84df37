"""100 000 signed-in users on two replicas: every refresh due in one minute done before expiry.

Seeding: each user is a real Cway user in the (in-process) emulator with real Cway tokens from
its own core (``emu.emulator.cway.issue``: the emulator still validates every refresh token it is
later sent), stored as :class:`PgTokenStore` stores them — the record's JSON encrypted with the
replicas' Fernet key, keyed by ``account_key`` — written with ``COPY``. Expiries are realistic
for Cway's 1 h access tokens: refresh due times spread over the hour after the measurement, so
nothing of the bulk falls due while it runs. Then two replicas start (``--refresh-interval 1``),
tool-call latency is measured with nothing due (idle), and a slice of ``users / 60`` more users
is seeded whose refreshes fall due over the next minute (the storm), while the same tool call is
timed again. Afterwards every slice record is read back and decrypted: refreshed, and before the
access token it replaced expired. Claims per replica come from each replica's ``/metrics``.

``python -m tests.bench scale`` uses ``CWAY_BENCH_SCALE_USERS`` (default 100 000).
"""

from __future__ import annotations

import asyncio
import copy
import os
import re
import shutil
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from cryptography.fernet import Fernet, MultiFernet

from cway_authd.store import TokenRecord
from cway_emulator import EmulatorServer
from cway_emulator.fixtures import DEFAULT_USER
from cway_remote.pg_store import account_key
from tests.bench.common import Row, ms, p50, p99
from tests.bench.remote import _post_call, _token
from tests.helpers.daemon import free_port, short_tmpdir
from tests.helpers.postgres import find_pg_bin, temporary_cluster
from tests.helpers.remote import remote_env, start_replica

THRESHOLD = 300  # CWAY_REFRESH_THRESHOLD_SECONDS: refresh 5 minutes before expiry
LIFETIME = 3600  # the emulator's Cway access-token lifetime
BULK_START = 600  # the bulk falls due from 10 minutes on: after the measurement
WINDOW = 60.0  # the slice falls due over this minute
IDLE_SECONDS = 15.0
PACE = 0.02  # a steady caller, not a flood: the same pacing idle and during the storm


def default_users() -> int:
    return int(os.environ.get("CWAY_BENCH_SCALE_USERS", "100000"))


def _records(emu: EmulatorServer, names: list[str], due: list[datetime]) -> list[TokenRecord]:
    """Users known to the emulator, with real Cway tokens, whose refresh falls due at ``due``."""
    emulator = emu.emulator
    template = emulator.store.cway_user(DEFAULT_USER)
    assert template is not None
    out = []
    for name, due_at in zip(names, due, strict=True):
        user = copy.copy(template)  # shallow: the per-user fields below are the only ones that differ
        user.update(username=name, email=name, id=f"scale-{name}")
        with emulator.store.lock:
            emulator.store.users[name] = user
        grant = emulator.cway.issue(user)
        expires = due_at + timedelta(seconds=THRESHOLD)
        out.append(
            TokenRecord(
                username=name,
                access_token=grant["access_token"],
                refresh_token=grant["refresh_token"],
                access_expires_at=expires,
                refresh_expires_at=None,
                created_at=expires - timedelta(seconds=LIFETIME),
                email=name,
            )
        )
    return out


async def _copy_in(url: str, fernet: MultiFernet, records: list[TokenRecord]) -> None:
    now = datetime.now(UTC)
    rows = [
        (
            account_key(r.username),
            fernet.encrypt(r.to_json_bytes()),
            r.access_expires_at - timedelta(seconds=THRESHOLD),
            now,
        )
        for r in records
    ]
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table(
            "cway_accounts", records=rows, columns=["account_key", "record", "refresh_due_at", "updated_at"]
        )
        await conn.execute("ANALYZE cway_accounts")
    finally:
        await conn.close()


async def _sizes(url: str) -> tuple[int, int, int]:
    conn = await asyncpg.connect(url)
    try:
        count = await conn.fetchval("SELECT count(*) FROM cway_accounts")
        table = await conn.fetchval("SELECT pg_total_relation_size('cway_accounts')")
        database = await conn.fetchval("SELECT pg_database_size(current_database())")
        return int(count), int(table), int(database)
    finally:
        await conn.close()


async def _read_back(url: str, fernet: MultiFernet, keys: list[str]) -> dict[str, TokenRecord]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT account_key, record FROM cway_accounts WHERE account_key = ANY($1)", keys)
    finally:
        await conn.close()
    return {row["account_key"]: TokenRecord.from_json_bytes(fernet.decrypt(bytes(row["record"]))) for row in rows}


def _refreshed(metrics: str) -> int:
    match = re.search(r'^cway_mcp_refreshes_total\{outcome="ok"\} ([0-9.e+]+)$', metrics, re.M)
    return int(float(match.group(1))) if match else 0


async def _calls(urls: list[str], token: str, seconds: float) -> tuple[list[float], int]:
    """Paced tool calls alternating between the replicas, one at a time, for ``seconds``."""
    samples: list[float] = []
    failed = 0
    async with httpx.AsyncClient(timeout=60) as http:
        for url in urls:  # warm both connections
            await _post_call(http, url, token)
        i = 0
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            start = time.perf_counter()
            failed += not await _post_call(http, urls[i % len(urls)], token)
            samples.append(time.perf_counter() - start)
            i += 1
            await asyncio.sleep(PACE)
    return samples, failed


def run_scale(users: int, window: float = WINDOW) -> dict[str, object]:
    """The measurement itself (also used by the quick test with a small ``users``)."""
    base = short_tmpdir("cw-bench-scale-")
    key = Fernet.generate_key().decode()
    fernet = MultiFernet([Fernet(key.encode())])
    result: dict[str, object] = {"users": users}
    try:
        with temporary_cluster() as cluster, EmulatorServer(auto_approve=True) as emu:
            url = cluster.create_database()
            ports = [free_port(), free_port()]
            public = f"http://127.0.0.1:{ports[0]}"  # the balancer's address; both replicas serve it
            emu.register_redirect_uri(public + "/oauth/callback")
            env = remote_env(base, emu.env(), public_url=public, database_url=url, key=key)
            env["CWAY_REFRESH_THRESHOLD_SECONDS"] = str(THRESHOLD)
            envs = [env, env]
            replicas = [start_replica(envs[0], ports[0], refresh_interval=1.0)]  # migrates the schema
            try:
                slice_size = max(users // 60, 1)
                bulk = users - slice_size
                names = [f"scale{i:06d}@scale.example" for i in range(users)]
                start = time.perf_counter()
                now = datetime.now(UTC)
                due = [now + timedelta(seconds=BULK_START + LIFETIME * i / max(bulk, 1)) for i in range(bulk)]
                asyncio.run(_copy_in(url, fernet, _records(emu, names[:bulk], due)))
                result["seed_seconds"] = time.perf_counter() - start
                replicas.append(start_replica(envs[1], ports[1], refresh_interval=1.0))
                mcp = [r.url + "/mcp" for r in replicas]
                token = asyncio.run(_token(mcp[0]))
                idle, idle_failed = asyncio.run(_calls(mcp, token, IDLE_SECONDS))

                # The slice: due over the next minute, seeded into a running system.
                now = datetime.now(UTC)
                due = [now + timedelta(seconds=window * i / slice_size) for i in range(slice_size)]
                records = _records(emu, names[bulk:], due)
                before = [_refreshed(httpx.get(r.url + "/metrics").text) for r in replicas]
                asyncio.run(_copy_in(url, fernet, records))
                storm_start = time.monotonic()
                storm, storm_failed = asyncio.run(_calls(mcp, token, window + 5))
                keys = [account_key(r.username) for r in records]
                deadline = storm_start + window + THRESHOLD
                while True:  # until every slice record is refreshed, or the last one expired
                    back = asyncio.run(_read_back(url, fernet, keys))
                    done = sum(1 for r in back.values() if r.last_refreshed_at is not None)
                    if done == len(records) or time.monotonic() > deadline:
                        break
                    time.sleep(1)
                storm_seconds = time.monotonic() - storm_start
                after = [_refreshed(httpx.get(r.url + "/metrics").text) for r in replicas]
                in_time = sum(
                    1
                    for r in records
                    if (n := back.get(account_key(r.username))) is not None
                    and n.last_refreshed_at is not None
                    and n.last_refreshed_at < r.access_expires_at
                )
                lag = [
                    (n.last_refreshed_at - (r.access_expires_at - timedelta(seconds=THRESHOLD))).total_seconds()
                    for r in records
                    if (n := back.get(account_key(r.username))) is not None and n.last_refreshed_at is not None
                ]
                count, table, database = asyncio.run(_sizes(url))
                result.update(
                    slice=len(records),
                    in_time=in_time,
                    claims=[a - b for a, b in zip(after, before, strict=True)],
                    window_seconds=storm_seconds,
                    max_lag=max(lag) if lag else float("nan"),
                    idle=idle,
                    storm=storm,
                    failed=idle_failed + storm_failed,
                    count=count,
                    table_bytes=table,
                    database_bytes=database,
                    emulator_refreshes=emu.counters.get("cway_token_refresh", 0),
                )
            finally:
                for replica in replicas:
                    replica.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return result


def bench_scale() -> list[Row]:
    if find_pg_bin() is None:
        return [Row("100 000 users", "-", "skipped: no PostgreSQL server binaries", "-")]
    r = run_scale(default_users())
    users, sl, in_time = r["users"], r["slice"], r["in_time"]
    claims = r["claims"]
    idle, storm = r["idle"], r["storm"]
    assert isinstance(users, int) and isinstance(sl, int) and isinstance(in_time, int) and isinstance(claims, list)
    assert isinstance(idle, list) and isinstance(storm, list)
    ratio = p50(storm) / p50(idle)
    window = float(r["window_seconds"])  # type: ignore[arg-type]
    return [
        Row(
            f"{users} users, two replicas: refreshes due in one minute done before expiry",
            "100 %",
            f"{100 * in_time / sl:.1f} % of {sl} (latest {float(r['max_lag']):.1f} s after due; "  # type: ignore[arg-type]
            f"claims {' / '.join(str(c) for c in claims)})",
            "expiry is 5 min after due (the refresh threshold)",
            in_time == sl,
        ),
        Row(
            "refresh throughput per replica during the minute",
            "information",
            ", ".join(f"{c / window:.1f}/s" for c in claims) + f" (needed in steady state: {users / LIFETIME:.1f}/s)",
            "arrival-bound: the slice falls due evenly over the minute",
        ),
        Row(
            "tool call (graphql_query) p50 during the refresh minute ÷ idle",
            "≤ 1.5× (a refresh is one short row lock and one Cway call; callers must not queue behind it)",
            f"{ratio:.2f}× (storm {ms(p50(storm))}/{ms(p99(storm))} p50/p99 vs idle "
            f"{ms(p50(idle))}/{ms(p99(idle))}; {r['failed']} tool errors)",
            "same run, same user, calls alternating between the replicas",
            ratio <= 1.5,
        ),
        Row(
            "database size per signed-in user",
            "information",
            f"cway_accounts {int(r['table_bytes']) / int(r['count']):.0f} B/user, "  # type: ignore[call-overload]
            f"whole database {int(r['database_bytes']) / int(r['count']):.0f} B/user "  # type: ignore[call-overload]
            f"({r['count']} rows)",
            f"seeded in {float(r['seed_seconds']):.1f} s (emulator grants + Fernet + COPY)",  # type: ignore[arg-type]
        ),
    ]
