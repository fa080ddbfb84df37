"""Junk sign-in callbacks, which anyone on the machine can send, cannot push the real audit history out."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from cway_authd.audit_limit import DEFAULT_BURST, SUMMARY_EVENT, UnauthenticatedEvents
from cway_contract.clock import ManualClock
from cway_emulator.server import EmulatorServer
from tests.daemon_server.conftest import browser_sign_in
from tests.helpers.daemon import running_daemon

JUNK = 1000
USER = "alice@contoso.example"


def _events(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_flood_of_junk_callbacks_adds_a_bounded_number_of_lines(emu: EmulatorServer, emu_env: dict[str, str]) -> None:
    with running_daemon(emu_env, cleanup=False) as daemon:
        browser_sign_in(daemon, emu, USER)
        daemon.call(lambda c: c.bearer(USER))
        audit = daemon.settings.state_dir / "audit.log"
        real_history = _events(audit)
        with httpx.Client(base_url=daemon.callback_base, trust_env=False, timeout=30) as browser:
            for i in range(JUNK):
                answer = browser.get(daemon.settings.redirect.path, params={"state": f"junk-{i}", "code": "x"})
                assert answer.status_code == 400
    events = _events(audit)  # the daemon has stopped: the summary of the window is written
    assert events[: len(real_history)] == real_history  # nothing of the real history was pushed out
    added = events[len(real_history) :]
    assert len(added) == DEFAULT_BURST + 1
    assert all(e["event"] == "sign_in_failed" and e["unauthenticated"] is True for e in added[:-1])
    assert added[-1]["event"] == SUMMARY_EVENT
    assert added[-1]["count"] == JUNK - DEFAULT_BURST
    assert added[-1]["by_reason"] == {"sign_in_failed:unknown": JUNK - DEFAULT_BURST}


class _Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, object]]] = []

    def event(self, event: str, **fields: object) -> None:
        self.lines.append((event, fields))


def test_each_window_writes_its_burst_and_then_one_summary() -> None:
    clock, audit = ManualClock(), _Recorder()
    limited = UnauthenticatedEvents(audit, clock, burst=2)
    for _ in range(5):
        limited.event("sign_in_failed", reason="unknown")
    assert [name for name, _ in audit.lines] == ["sign_in_failed", "sign_in_failed"]
    clock.advance(minutes=10)
    limited.event("sign_in_failed", reason="missing")  # a new window: the old one's summary first
    assert [name for name, _ in audit.lines[2:]] == [SUMMARY_EVENT, "sign_in_failed"]
    assert audit.lines[2][1]["count"] == 3
    limited.flush()
    assert len(audit.lines) == 4  # nothing was left out of the second window: no empty summary
