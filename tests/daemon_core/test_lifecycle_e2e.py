"""Logout, restart, scheduling, health, the single-daemon lock and the audit log."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from datetime import datetime, timedelta

import httpx
import pytest

from cway_authd.control.peercred import PeerCredentials
from cway_authd.core import DaemonCore
from cway_authd.errors import CoreError
from cway_authd.store import StoreLockedError
from cway_contract.clock import ManualClock
from cway_emulator import EmulatorServer
from tests.helpers.emulator_gate import EndpointGate

from .conftest import ALICE, BOB, CoreFactory, browser, sign_in

PEER = PeerCredentials(pid=4242, uid=1000, gid=1000)


async def signed_in(core: DaemonCore, emu: EmulatorServer, *users: str) -> None:
    for user in users:
        result = await sign_in(core, emu, user)
        assert result.outcome.ok, result.outcome.message


@pytest.mark.parametrize("revocation", [False, True])
async def test_logout_removes_everything(core: DaemonCore, emu: EmulatorServer, revocation: bool) -> None:
    emu.knobs.idp_revocation = revocation
    await signed_in(core, emu, ALICE, BOB)
    pending = await core.start_sign_in(ALICE)  # a second sign-in for alice in progress
    record = await core.store.load(ALICE)
    assert record is not None

    result = await core.logout("Alice@contoso.example")
    assert result.removed and result.username == ALICE
    # AUTH_FLOW=cway: the refresh token is Cway's; it must never be sent to the IdP's revocation endpoint.
    assert result.revoked is None
    assert emu.counters["idp_revoke"] == 0
    assert await core.store.load(ALICE) is None
    assert [a.username for a in await core.list_accounts()] == [BOB]
    assert core.engine.scheduled_keys() == [BOB]
    assert core.sign_in_status(pending.flow_id).state == "failed"
    assert len(list((core.settings.state_dir / "tokens").glob("*.token"))) == 1

    await core.logout(BOB)
    assert await core.list_accounts() == [] and core.engine.scheduled_keys() == []
    assert list((core.settings.state_dir / "tokens").glob("*.token")) == []
    again = await core.logout(BOB)
    assert not again.removed and again.revoked is None


@pytest.mark.parametrize("revocation", [False, True])
async def test_direct_flow_logout_revokes_the_idp_refresh_token(
    open_core: CoreFactory, emu: EmulatorServer, revocation: bool
) -> None:
    emu.knobs.idp_revocation = revocation
    core = await open_core(AUTH_FLOW="direct", AZURE_SCOPES=f"openid profile email {emu.cway_api_scope}")
    await signed_in(core, emu, ALICE)
    record = await core.store.load(ALICE)
    assert record is not None
    result = await core.logout(ALICE)
    assert result.removed and result.revoked is (True if revocation else None)
    assert emu.counters["idp_revoke"] == (1 if revocation else 0)
    async with httpx.AsyncClient(trust_env=False) as http:
        replay = await http.post(
            emu.idp_token_url,
            data={"grant_type": "refresh_token", "client_id": emu.client_id, "refresh_token": record.refresh_token},
        )
    assert (replay.status_code == 400) is revocation


async def test_restart_picks_every_account_back_up_and_refreshes_the_due_ones(
    open_core: CoreFactory, emu: EmulatorServer, clock: ManualClock
) -> None:
    core = await open_core()
    await signed_in(core, emu, ALICE)
    clock.advance(1800)
    await signed_in(core, emu, BOB)
    await core.stop()

    clock.advance(1800 - 100)  # alice is due (100 s left), bob is not
    restarted = await open_core()  # starts and waits for the start-up refreshes
    assert emu.counters["cway_token_refresh"] == 1
    accounts = {a.username: a for a in await restarted.list_accounts()}
    assert set(accounts) == {ALICE, BOB} and all(a.state == "ok" for a in accounts.values())
    assert accounts[ALICE].last_refreshed_at == clock.now() and accounts[BOB].last_refreshed_at is None
    assert restarted.engine.scheduled_keys() == [ALICE, BOB]
    assert (await restarted.bearer(BOB, PEER)).username == BOB
    assert emu.counters["cway_token_refresh"] == 1


async def test_restart_with_a_dead_refresh_token_needs_sign_in_without_calling_cway(
    open_core: CoreFactory, emu: EmulatorServer, clock: ManualClock
) -> None:
    emu.knobs.cway_refresh_expires_in = True  # a Cway that states its refresh token's lifetime
    core = await open_core()
    await signed_in(core, emu, ALICE)
    await core.stop()
    clock.advance(timedelta(hours=41).total_seconds())
    restarted = await open_core()
    [info] = await restarted.list_accounts()
    assert info.state == "needs_sign_in" and "expired" in (info.last_error or "")
    assert emu.counters["cway_token_refresh"] == 0 and await restarted.store.list() == []


async def test_restart_with_a_dead_refresh_token_of_unknown_lifetime_asks_cway_once(
    open_core: CoreFactory, emu: EmulatorServer, clock: ManualClock
) -> None:
    # The real Cway is not known to state refresh_expires_in: the daemon copes by asking, once.
    core = await open_core()
    await signed_in(core, emu, ALICE)
    record = await core.store.load(ALICE)
    assert record is not None and record.refresh_expires_at is None
    await core.stop()
    clock.advance(timedelta(hours=41).total_seconds())
    restarted = await open_core()
    [info] = await restarted.list_accounts()
    assert info.state == "needs_sign_in" and "expired" in (info.last_error or "")
    assert emu.counters["cway_token_refresh"] == 1 and await restarted.store.list() == []


async def test_the_refresh_is_planned_before_the_threshold_with_jitter(
    core: DaemonCore, emu: EmulatorServer, clock: ManualClock
) -> None:
    await signed_in(core, emu, ALICE)
    entry = core.book.get(ALICE)
    assert entry is not None and entry.record is not None
    planned = core.engine.next_refresh_at(ALICE)
    expires = entry.record.access_expires_at
    assert planned is not None and expires - timedelta(seconds=300 + 30) <= planned <= expires - timedelta(seconds=300)
    assert (await core.account(ALICE)).next_refresh_at == planned


async def test_a_refresh_planned_inside_the_jitter_window_fires_once_and_rearms(
    core: DaemonCore, emu: EmulatorServer, clock: ManualClock
) -> None:
    """The old defect: a job fired at ``due - jitter`` found the token "not yet due" and was lost."""
    await signed_in(core, emu, ALICE)
    entry = core.book.get(ALICE)
    assert entry is not None and entry.record is not None
    planned = core.engine.next_refresh_at(ALICE)
    assert planned is not None and planned < core.engine.due_at(entry.record)  # jitter moved it earlier
    clock.set(planned - timedelta(seconds=1))
    assert await core.engine.tick() == 0  # not yet
    clock.set(planned)
    assert await core.engine.tick() == 1
    await core.engine.drain()
    assert emu.counters["cway_token_refresh"] == 1
    again = core.engine.next_refresh_at(ALICE)
    assert again is not None and again - clock.now() > timedelta(seconds=3600 - 300 - 31)
    assert (await core.account(ALICE)).state == "ok"
    assert await core.engine.tick() == 0 and emu.counters["cway_token_refresh"] == 1


async def test_run_due_refreshes_what_the_clock_says_is_due(
    core: DaemonCore, emu: EmulatorServer, clock: ManualClock
) -> None:
    await signed_in(core, emu, ALICE, BOB)
    assert await core.engine.run_due() == 0
    clock.advance(3600 - 299)
    assert await core.engine.run_due() == 2
    assert emu.counters["cway_token_refresh"] == 2
    assert await core.engine.run_due() == 0
    assert await core.engine.tick() == 0  # both re-armed for their new tokens
    assert emu.counters["cway_token_refresh"] == 2


async def test_a_second_daemon_on_the_same_state_dir_is_refused(open_core: CoreFactory) -> None:
    await open_core(start=False)
    with pytest.raises(StoreLockedError):
        await open_core(start=False)


async def test_health(core: DaemonCore, emu: EmulatorServer, clock: ManualClock) -> None:
    await signed_in(core, emu, ALICE)
    await core.start_sign_in(BOB)
    clock.advance(5)
    health = await core.health("/run/x.sock")
    assert health.pid == os.getpid() and health.uptime_seconds >= 5
    assert health.storage_backend == f"files:{core.settings.state_dir / 'tokens'}"
    assert health.key_source == "env:CWAY_MCP_STORE_KEY"
    assert health.socket_path == "/run/x.sock" and health.callback_url == core.settings.redirect.uri
    assert health.auth_flow == "cway"
    assert (health.accounts, health.accounts_needing_sign_in, health.pending_sign_ins) == (1, 0, 1)


async def test_audit_log_has_the_events_and_no_secrets(
    core: DaemonCore, emu: EmulatorServer, clock: ManualClock
) -> None:
    result = await sign_in(core, emu, ALICE)
    first = await core.store.load(ALICE)
    assert first is not None
    clock.advance(3600 - 200)
    issued = await core.bearer(ALICE, PEER)
    second = await core.store.load(ALICE)
    assert second is not None
    emu.knobs.fail("cway_token", "invalid_grant")
    with pytest.raises(CoreError):
        await core.force_refresh(ALICE, PEER)
    failed = await sign_in(core, emu, BOB)
    bad = await core.handle_callback(failed.params)  # replay → sign_in_failed
    assert not bad.ok
    await core.logout(BOB)

    path = core.settings.state_dir / "audit.log"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(core.settings.state_dir.stat().st_mode) == 0o700
    text = path.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    events = [line["event"] for line in lines]
    for expected in (
        "sign_in_started",
        "sign_in_completed",
        "sign_in_failed",
        "refresh_ok",
        "refresh_failed",
        "token_issued",
        "logout",
    ):
        assert expected in events, expected
    assert all(datetime.fromisoformat(line["ts"]).utcoffset() == timedelta(0) for line in lines)
    issued_line = next(line for line in lines if line["event"] == "token_issued")
    assert issued_line["peer_pid"] == 4242 and issued_line["peer_uid"] == 1000 and issued_line["account"] == ALICE
    assert issued_line["token_fingerprint"].startswith("sha256:")
    secrets = {
        first.access_token,
        first.refresh_token,
        second.access_token,
        second.refresh_token,
        issued.access_token,
        result.params["code"],
        result.params["state"],
        failed.params["code"],
        failed.params["state"],
    }
    for secret in secrets:
        assert secret not in text


async def test_store_set_aside_events_reach_the_audit_log(open_core: CoreFactory, emu: EmulatorServer) -> None:
    core = await open_core()
    await signed_in(core, emu, ALICE)
    await core.stop()
    [token_file] = (core.settings.state_dir / "tokens").glob("*.token")
    token_file.write_bytes(b"not a fernet token")
    restarted = await open_core()
    assert await restarted.list_accounts() == []
    events = [json.loads(line)["event"] for line in (core.settings.state_dir / "audit.log").read_text().splitlines()]
    assert "store_file_set_aside" in events


async def test_a_logout_during_the_code_exchange_wins(
    core: DaemonCore, emu: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The person signs out while the browser's code is still being exchanged: nothing may be stored.
    flow = await core.start_sign_in(ALICE)
    assert flow.authorization_url
    params = await browser(emu, flow.authorization_url)
    cway = EndpointGate(monkeypatch)
    callback = asyncio.create_task(core.handle_callback(params))
    await cway.arrived(1)  # the exchange is under way at Cway
    await core.logout(ALICE)
    cway.release()
    outcome = await callback
    assert not outcome.ok and outcome.status_code == 409
    assert "signed out" in outcome.message
    assert await core.list_accounts() == []
    assert await core.store.load(ALICE) is None
    assert core.sign_in_status(flow.flow_id).state == "failed"
