"""kill -9 during a refresh storm: how many accounts does a crash cost?

``PYTHONPATH=daemon python -m tests.kill_storm [--accounts 500] [--kills 10]`` (``make kill-storm``).

Seeds ``accounts`` signed-in accounts whose access tokens live 2 s, so the daemon is refreshing
all the time; starts the real daemon process, kills it with SIGKILL at a random moment while it
refreshes, and restarts it, ``kills`` times. Then counts the accounts whose stored refresh token
Cway no longer accepts: each is a rotation Cway made whose answer the daemon never made durable.
Those users would have to sign in again. Loopback, temporary directories, the embedded emulator.

Two storms. The default one keeps every token 2 s long with a 1 s threshold, so the schedule has
one second of slack and the daemon must run many refreshes at once (its slack rule raises the
pool to the ceiling, as it should). ``--refreshed-lifetime 3600 --threshold 300`` is the storm a
daemon meets for real: every account overdue at start (the laptop slept, the daemon was down),
refreshed tokens living an hour; there is nothing to win by hurrying, so the pool runs one or two
at a time and a kill costs at most those.
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from cway_emulator.server import EmulatorServer
from tests.helpers.daemon import daemon_env, process_env
from tests.helpers.fleet import lost_accounts, seed_fleet

ACCESS_LIFETIME = 2
TOKEN_LATENCY = 0.02  # a little network time, so refreshes overlap at Cway as they do for real


@dataclass(frozen=True)
class StormResult:
    accounts: int
    kills: int
    lost: int
    refreshes: int
    peak: int  # the most refreshes Cway saw at once: what one kill can cost


def spawn_daemon(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The real daemon process; its log goes to a file in the test dir (read it when a figure looks odd)."""
    with open(f"{env['CWAY_TEST_BASE']}/daemon.log", "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "cway_authd.cli", "daemon"],
            env=process_env(env),
            cwd=env["CWAY_TEST_BASE"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )


def run_storm(
    accounts: int,
    kills: int,
    *,
    seed: int | None = None,
    refreshed_lifetime: int = ACCESS_LIFETIME,
    threshold: int = 1,
) -> StormResult:
    rng = random.Random(seed)
    with EmulatorServer(auto_approve=True) as emu:
        emu.knobs.update({"cway_access_lifetime": ACCESS_LIFETIME, "latency": {"cway_token": TOKEN_LATENCY}})
        env = daemon_env({**emu.env(), "CWAY_REFRESH_THRESHOLD_SECONDS": str(threshold)})
        try:
            names = seed_fleet(emu, env, accounts)
            time.sleep(ACCESS_LIFETIME)  # every account is due when the first daemon starts
            emu.knobs.update({"cway_access_lifetime": refreshed_lifetime})
            for _ in range(kills):
                start = emu.counters["cway_token_refresh"]
                daemon = spawn_daemon(env)
                # Kill while refreshes are in flight: wait until some began, then a random moment later.
                deadline = time.monotonic() + 30
                while emu.counters["cway_token_refresh"] == start and time.monotonic() < deadline:
                    time.sleep(0.01)
                time.sleep(rng.uniform(0.05, 0.8))
                daemon.send_signal(signal.SIGKILL)
                daemon.wait(10)
            lost = lost_accounts(emu, env, names)
            return StormResult(
                accounts, kills, len(lost), emu.counters["cway_token_refresh"], emu.counters["cway_token_peak"]
            )
        finally:
            shutil.rmtree(env["CWAY_TEST_BASE"], ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=None, help="the kill moments' random seed (compare runs)")
    parser.add_argument(
        "--refreshed-lifetime", type=int, default=ACCESS_LIFETIME, help="seconds a refreshed token lives"
    )
    parser.add_argument("--threshold", type=int, default=1, help="CWAY_REFRESH_THRESHOLD_SECONDS")
    args = parser.parse_args()
    result = run_storm(
        args.accounts, args.kills, seed=args.seed, refreshed_lifetime=args.refreshed_lifetime, threshold=args.threshold
    )
    print(
        f"kill -9 storm: {result.lost} of {result.accounts} accounts lost over {result.kills} kills "
        f"({result.refreshes} refreshes at Cway, at most {result.peak} at once)"
    )


if __name__ == "__main__":
    main()
