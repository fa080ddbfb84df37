"""Row 3: daemon start to first answer with 10 000 stored accounts (and its memory).

The records are written straight into the store's directory with the store's own encryption
(no fsync: preparing the bench is not what is measured). Every token has an hour left, so the
start-up pass has nothing to refresh. Measured from spawn: the first answer (``/v1/health``),
the bearer of one stored account (the goal's "first answer": what a shim waits for), and the
full account list (every record read, decrypted and scheduled). Floors: the interpreter plus the daemon's
imports, and decrypting every record in-process with the store's own ``list()``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from cway_auth_core.records import TOKENS_DIR_NAME
from cway_authd.store import FileTokenStore, TokenRecord, resolve_store_key
from cway_contract.clock import SYSTEM_CLOCK
from tests.bench.common import Row, cpu_seconds, rss_kib
from tests.bench.floors import MiniHttp
from tests.helpers.daemon import daemon_env, process_env, settings_from_env

ACCOUNTS = 10_000
DAEMON_IMPORTS = (
    "import cway_authd.cli, cway_authd.runner, cway_authd.core, cway_authd.control.api, cway_authd.web.callback_app"
)


def populate(env: dict[str, str], count: int) -> Path:
    settings = settings_from_env(env)
    tokens = settings.state_dir / TOKENS_DIR_NAME
    tokens.mkdir(parents=True, mode=0o700)
    os.chmod(settings.state_dir, 0o700)
    keys = resolve_store_key(settings.state_dir, env["CWAY_MCP_STORE_KEY"], use_keyring=False)
    now = SYSTEM_CLOCK.now()
    for i in range(count):
        record = TokenRecord(
            username=f"user{i:05d}@contoso.example",
            access_token="a" * 900,
            refresh_token="r" * 300,
            access_expires_at=now + timedelta(hours=1),
            refresh_expires_at=now + timedelta(hours=40),
            email=f"user{i:05d}@contoso.example",
            display_name=f"User {i}",
            created_at=now,
        )
        fd = os.open(tokens / record.file_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(keys.multifernet.encrypt(record.to_json_bytes()))
    return tokens


async def _first_answers(
    path: Path, process: subprocess.Popen[bytes], start: float
) -> tuple[float, float, float, float]:
    """Seconds from spawn to: the first answer (health), a bearer for one stored account, the full account
    list; and the CPU seconds the daemon had used by the bearer."""
    while process.poll() is None:
        try:
            client = await MiniHttp.open(path)
        except OSError:
            await asyncio.sleep(0.005)
            continue
        try:
            await client.request("GET", "/v1/health")
            health = time.perf_counter() - start
            body = json.dumps({"username": f"user{ACCOUNTS // 2:05d}@contoso.example"}).encode()
            answer = json.loads(await client.request("POST", "/v1/token", body))
            assert "access_token" in answer, answer
            bearer = time.perf_counter() - start
            cpu = cpu_seconds(process.pid)
            listed = json.loads(await client.request("GET", "/v1/accounts"))
            assert len(listed["accounts"]) == ACCOUNTS, len(listed["accounts"])
            return health, bearer, time.perf_counter() - start, cpu
        except (OSError, asyncio.IncompleteReadError):
            await asyncio.sleep(0.005)
        finally:
            await client.aclose()
    raise RuntimeError(f"the daemon exited with {process.returncode}")


def start_once(env: dict[str, str]) -> tuple[tuple[float, float, float, float], int]:
    """(first answer, first bearer, all listed, CPU by the bearer) in seconds, then peak RSS in KiB."""
    settings = settings_from_env(env)
    log = Path(env["CWAY_TEST_BASE"]) / "daemon.log"
    with log.open("ab") as err:
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "cway_authd.cli", "daemon"],
            env=process_env(env),
            cwd=env["CWAY_TEST_BASE"],
            stdin=subprocess.DEVNULL,
            stdout=err,
            stderr=err,
        )
    try:
        times = asyncio.run(_first_answers(settings.socket_path, process, start))
        time.sleep(0.5)  # let the start-up pass settle before reading the peak
        return times, rss_kib(process.pid, "VmHWM")
    finally:
        process.terminate()
        process.wait(30)


def bench_startup() -> list[Row]:
    env = daemon_env()
    try:
        tokens = populate(env, ACCOUNTS)
        runs = [start_once(env) for _ in range(3)]
        (first, bearer, listed, cpu), _peak = min(runs)
        keys = resolve_store_key(tokens.parent, env["CWAY_MCP_STORE_KEY"], use_keyring=False)
        store = FileTokenStore(tokens, keys, SYSTEM_CLOCK)
        start = time.perf_counter()
        asyncio.run(store.list())
        decrypt = time.perf_counter() - start
    finally:
        shutil.rmtree(env["CWAY_TEST_BASE"], ignore_errors=True)
    imports = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", DAEMON_IMPORTS], check=True)
        imports.append(time.perf_counter() - start)
    peak_mb = max(r[1] for r in runs) * 1024 / 1e6
    return [
        Row(
            f"daemon start to first answer, {ACCOUNTS} accounts",
            "≤ 2 s, ≤ 150 MB",
            f"{first:.2f} s to the first answer, {bearer:.2f} s to a stored account's bearer, "
            f"{listed:.2f} s until all {ACCOUNTS} are listed; {cpu:.2f} s CPU by the bearer; peak {peak_mb:.0f} MB "
            f"(best of 3; first answers {', '.join(f'{r[0][0]:.2f}' for r in runs)} s)",
            f"python + daemon imports {min(imports):.2f} s; store.list() decrypting all {decrypt:.2f} s",
            bearer <= 2.0 and peak_mb <= 150,
        )
    ]
