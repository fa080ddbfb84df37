"""SIGTERM while a request is in flight: the request finishes, and what it changed is on disk."""

from __future__ import annotations

import asyncio
import signal
import time

from cway_contract.contract import BearerResponse
from cway_contract.daemon_client import DaemonClient
from cway_emulator.server import EmulatorServer
from tests.daemon_server.conftest import browser_sign_in
from tests.helpers.daemon import running_daemon


def test_sigterm_lets_an_in_flight_forced_refresh_finish_and_persist(
    emu: EmulatorServer, emu_env: dict[str, str]
) -> None:
    with running_daemon(emu_env, mode="process", cleanup=False) as daemon:
        assert daemon.process is not None
        process = daemon.process
        assert browser_sign_in(daemon, emu).status.state == "completed"
        first = daemon.call(lambda c: c.bearer(None))
        emu.knobs.latency = {"cway_token": 1.0}  # Cway's token endpoint answers after a second

        async def refresh_while_stopping() -> tuple[BearerResponse, float]:
            async with DaemonClient(daemon.socket_path, timeout=30) as client:
                call = asyncio.create_task(client.force_refresh(None))
                deadline = time.monotonic() + 10
                while emu.counters["cway_token_refresh"] == 0:  # the refresh has reached Cway
                    assert time.monotonic() < deadline, "the forced refresh never reached Cway"
                    await asyncio.sleep(0.01)
                process.send_signal(signal.SIGTERM)
                signalled = time.monotonic()
                answer = await call
                return answer, time.monotonic() - signalled

        fresh, waited = asyncio.run(refresh_while_stopping())
        assert process.wait(30) == 0
        assert waited > 0.3  # the signal really arrived while Cway was still answering
        assert fresh.access_token != first.access_token
        log = daemon.stderr_text()
        assert "SIGTERM received" in log and "Traceback" not in log
        assert not daemon.socket_path.exists()

    emu.knobs.latency = {}
    assert emu.counters["cway_token_refresh"] == 1
    with running_daemon(emu_env, cleanup=False) as again:
        # The rotated tokens were saved before the answer left: the new daemon holds exactly them…
        held = again.call(lambda c: c.bearer(None))
        assert held.access_token == fresh.access_token
        # …and the stored refresh token is the live (rotated) one.
        renewed = again.call(lambda c: c.force_refresh(None))
        assert renewed.access_token != fresh.access_token
        assert again.call(lambda c: c.account(renewed.username)).state == "ok"
