"""The token API against the emulator: fast path, threshold, single flight, rotation, failures."""

from __future__ import annotations

import asyncio
import errno

import httpx
import pytest

from cway_authd.control.peercred import PeerCredentials
from cway_authd.core import DaemonCore
from cway_authd.errors import CoreError
from cway_authd.refresh import engine as refresh_engine
from cway_authd.refresh.engine import RetryPolicy
from cway_contract.clock import ManualClock
from cway_contract.contract import ErrorCode
from cway_contract.redact import fingerprint
from cway_emulator import EmulatorServer
from tests.helpers.emulator_gate import EndpointGate

from .conftest import ALICE, BOB, CoreFactory, SleepRecorder, sign_in

PEER = PeerCredentials(pid=4242, uid=1000, gid=1000)
THRESHOLD = 300


async def signed_in(core: DaemonCore, emu: EmulatorServer, *users: str) -> None:
    for user in users:
        result = await sign_in(core, emu, user)
        assert result.outcome.ok, result.outcome.message


async def test_bearer_refreshes_exactly_at_the_threshold(
    core: DaemonCore, emu: EmulatorServer, clock: ManualClock
) -> None:
    await signed_in(core, emu, ALICE)
    first = await core.bearer(ALICE, PEER)
    clock.advance(3600 - THRESHOLD - 1)
    assert (await core.bearer(ALICE, PEER)).access_token == first.access_token
    assert emu.counters["cway_token_refresh"] == 0
    clock.advance(1)
    second = await core.bearer(ALICE, PEER)
    assert second.access_token != first.access_token
    assert emu.counters["cway_token_refresh"] == 1
    assert second.expires_at > first.expires_at
    info = await core.account(ALICE)
    assert info.state == "ok" and info.last_refreshed_at == clock.now() and info.last_error is None


async def test_200_concurrent_callers_cause_exactly_one_refresh(
    core: DaemonCore, emu: EmulatorServer, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The promise here is one refresh for all; the 2 s bound on a caller's wait has its own test,
    # and on a saturated machine it would hand some callers the (still valid) old token.
    monkeypatch.setattr(refresh_engine, "BEARER_WAIT_SECONDS", 30.0)
    await signed_in(core, emu, ALICE)
    old = await core.bearer(None, PEER)
    clock.advance(3600 - 60)
    emu.knobs.latency = {"cway_token": 0.2}  # keep the refresh in flight while the others pile up
    results = await asyncio.gather(*(core.bearer(ALICE, PEER) for _ in range(200)))
    assert emu.counters["cway_token_refresh"] == 1
    tokens = {r.access_token for r in results}
    assert len(tokens) == 1 and old.access_token not in tokens


async def test_concurrent_forced_refreshes_also_collapse(core: DaemonCore, emu: EmulatorServer) -> None:
    await signed_in(core, emu, ALICE)
    old = await core.bearer(None, PEER)
    emu.knobs.latency = {"cway_token": 0.1}
    results = await asyncio.gather(*(core.force_refresh(None, PEER) for _ in range(20)))
    assert emu.counters["cway_token_refresh"] == 1
    assert {r.access_token for r in results} != {old.access_token} and len({r.access_token for r in results}) == 1


async def test_late_forced_refreshes_for_an_already_replaced_token_do_not_refresh_again(
    core: DaemonCore, emu: EmulatorServer
) -> None:
    # Shims that saw a 401 at different moments all name the token Cway refused: one refresh in all.
    await signed_in(core, emu, ALICE)
    old = await core.bearer(None, PEER)
    first = await core.force_refresh(None, PEER, rejected=fingerprint(old.access_token))
    late = [await core.force_refresh(None, PEER, rejected=fingerprint(old.access_token)) for _ in range(5)]
    assert emu.counters["cway_token_refresh"] == 1
    assert first.access_token != old.access_token
    assert {r.access_token for r in late} == {first.access_token}
    # Naming the *current* token as refused does refresh it.
    newer = await core.force_refresh(None, PEER, rejected=fingerprint(first.access_token))
    assert emu.counters["cway_token_refresh"] == 2 and newer.access_token != first.access_token


async def test_rotated_refresh_token_is_persisted_and_the_old_one_is_dead(
    open_core: CoreFactory, emu: EmulatorServer, clock: ManualClock
) -> None:
    core = await open_core()
    await signed_in(core, emu, ALICE)
    before = await core.store.load(ALICE)
    assert before is not None
    new_bearer = await core.force_refresh(ALICE, PEER)
    await core.stop()

    reopened = await open_core()
    stored = await reopened.store.load(ALICE)
    assert stored is not None
    assert stored.refresh_token != before.refresh_token and stored.access_token == new_bearer.access_token
    async with httpx.AsyncClient(trust_env=False) as http:
        dead = await http.post(
            emu.cway_token_url, data={"grant_type": "refresh_token", "refresh_token": before.refresh_token}
        )
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"
    clock.advance(3600)
    assert (await reopened.bearer(ALICE, PEER)).access_token != new_bearer.access_token  # the stored one works


async def test_invalid_grant_means_sign_in_again(core: DaemonCore, emu: EmulatorServer, clock: ManualClock) -> None:
    await signed_in(core, emu, ALICE)
    last_good = (await core.store.load(ALICE)).access_expires_at  # type: ignore[union-attr]
    emu.knobs.fail("cway_token", "invalid_grant")
    clock.advance(3600 - 10)
    with pytest.raises(CoreError) as err:
        await core.bearer(ALICE, PEER)
    assert err.value.code is ErrorCode.SIGN_IN_REQUIRED and err.value.status == 401
    # The short local link (no e-mail address in it); the flow behind it carries login_hint to Entra.
    assert err.value.sign_in_url and err.value.sign_in_url.endswith(f"/sign-in/{err.value.flow_id}")
    assert "alice" not in err.value.sign_in_url
    flow = core.sign_in.flows.get(err.value.flow_id or "")
    assert flow is not None and "login_hint=alice%40contoso.example" in flow.authorization_url
    assert emu.counters["cway_token_refresh"] == 1  # fatal: no retries
    [info] = await core.list_accounts()
    assert info.state == "needs_sign_in" and info.last_error and "invalid_grant" in info.last_error
    assert info.access_expires_at == last_good  # the tokens are gone; when they ran out is still shown
    assert await core.store.load(ALICE) is None and core.engine.scheduled_keys() == []
    # the hint is the one pending flow, not a new one per call
    with pytest.raises(CoreError) as again:
        await core.bearer(None, PEER)
    assert again.value.flow_id == err.value.flow_id
    # signing in again clears the tombstone
    await signed_in(core, emu, ALICE)
    assert (await core.account(ALICE)).state == "ok"


async def test_revoked_user_is_fatal_too(core: DaemonCore, emu: EmulatorServer) -> None:
    await signed_in(core, emu, ALICE)
    emu.revoke_user(ALICE)
    with pytest.raises(CoreError) as err:
        await core.force_refresh(ALICE, PEER)
    assert err.value.code is ErrorCode.SIGN_IN_REQUIRED


@pytest.mark.parametrize("mode", ["500", "503", "429"])
async def test_transient_failures_back_off_and_serve_the_old_token(
    core: DaemonCore, emu: EmulatorServer, clock: ManualClock, sleeps: SleepRecorder, mode: str
) -> None:
    await signed_in(core, emu, ALICE)
    old = await core.bearer(ALICE, PEER)
    emu.knobs.fail("cway_token", mode, count=50)
    clock.advance(3600 - 100)  # due, but the old token is still valid for 100 s
    served = await core.bearer(ALICE, PEER)
    assert served.access_token == old.access_token
    assert emu.counters["cway_token_refresh"] == 4  # bounded: RetryPolicy.attempts
    assert len(sleeps.delays) == 3 and sleeps.delays == sorted(sleeps.delays)
    info = await core.account(ALICE)
    assert info.state == "retrying" and info.last_error and mode in info.last_error

    # a burst during the cool-down does not reach the backend
    await asyncio.gather(*(core.bearer(ALICE, PEER) for _ in range(20)))
    assert emu.counters["cway_token_refresh"] == 4

    # once the old token has expired and the backend is still down: 503
    clock.advance(101)
    with pytest.raises(CoreError) as err:
        await core.bearer(ALICE, PEER)
    assert err.value.code is ErrorCode.BACKEND_UNAVAILABLE and err.value.status == 503
    assert emu.counters["cway_token_refresh"] == 8

    # recovery
    emu.knobs.update({"clear_failures": True})
    clock.advance(120)
    fresh = await core.bearer(ALICE, PEER)
    assert fresh.access_token != old.access_token and (await core.account(ALICE)).last_error is None


async def test_retry_after_is_honoured(
    core: DaemonCore, emu: EmulatorServer, clock: ManualClock, sleeps: SleepRecorder
) -> None:
    await signed_in(core, emu, ALICE)
    emu.knobs.fail("cway_token", "429", count=1, retry_after=2)
    clock.advance(3600 - 100)
    fresh = await core.bearer(ALICE, PEER)
    assert emu.counters["cway_token_refresh"] == 2
    assert sleeps.delays == [2.0]
    assert (await core.account(ALICE)).last_refreshed_at == clock.now() and fresh.username == ALICE


async def test_a_hanging_backend_is_bounded_by_timeouts(
    open_core: CoreFactory, emu: EmulatorServer, clock: ManualClock
) -> None:
    recorder = SleepRecorder()
    core = await open_core(CWAY_MCP_HTTP_TIMEOUT="0.25", retry=RetryPolicy(attempts=3, base_delay=0.01, sleep=recorder))
    await signed_in(core, emu, ALICE)
    old = await core.bearer(ALICE, PEER)
    emu.knobs.hang_seconds = 3.0
    emu.knobs.fail("cway_token", "hang", count=10)
    clock.advance(3600 - 100)
    served = await core.bearer(ALICE, PEER)
    assert served.access_token == old.access_token
    await core.engine.idle()  # the bearer may have been served before the last attempt timed out
    assert emu.counters["cway_token_refresh"] == 3
    # Each attempt ended by the 0.25 s timeout, not by the emulator's 3 s hang (that ends in a 504).
    assert "did not answer in time" in ((await core.account(ALICE)).last_error or "")


async def test_a_valid_token_is_served_while_a_hung_refresh_goes_on_in_the_background(
    open_core: CoreFactory, emu: EmulatorServer, clock: ManualClock
) -> None:
    """The token endpoint hangs: the caller gets the still-valid token after the short wait bound,
    not after the HTTP timeout; the refresh finishes on its own afterwards."""
    core = await open_core(CWAY_MCP_HTTP_TIMEOUT="30")
    await signed_in(core, emu, ALICE)
    old = await core.bearer(ALICE, PEER)
    emu.knobs.hang_seconds = 4.0  # longer than the bearer's wait bound (2 s), shorter than the HTTP timeout
    emu.knobs.fail("cway_token", "hang", count=1)
    clock.advance(3600 - 100)  # due, and valid for 100 s more
    served = await core.bearer(ALICE, PEER)
    assert served.access_token == old.access_token
    assert (await core.account(ALICE)).state == "refreshing"  # it did not wait for the refresh to end
    await core.engine.idle()
    fresh = await core.bearer(ALICE, PEER)
    assert fresh.access_token != old.access_token and (await core.account(ALICE)).state == "ok"


async def test_two_users_are_isolated(core: DaemonCore, emu: EmulatorServer, clock: ManualClock) -> None:
    await signed_in(core, emu, ALICE, BOB)
    alice, bob = await core.bearer(ALICE, PEER), await core.bearer("Bob@Contoso.Example", PEER)
    assert alice.username == ALICE and bob.username == BOB and alice.access_token != bob.access_token
    from .test_sign_in_e2e import cway_whoami

    assert await cway_whoami(emu, bob.access_token) == BOB
    with pytest.raises(CoreError) as err:
        await core.bearer(None, PEER)
    assert err.value.code is ErrorCode.UNKNOWN_ACCOUNT and err.value.status == 409
    assert err.value.accounts == [ALICE, BOB]

    # a fatal failure for bob leaves alice alone
    emu.revoke_user(BOB)
    clock.advance(3600 - 10)
    assert (await core.bearer(ALICE, PEER)).username == ALICE
    with pytest.raises(CoreError):
        await core.bearer(BOB, PEER)
    states = {a.username: a.state for a in await core.list_accounts()}
    assert states == {ALICE: "ok", BOB: "needs_sign_in"}


async def test_not_signed_in_carries_a_sign_in_url(core: DaemonCore) -> None:
    with pytest.raises(CoreError) as err:
        await core.bearer(None, PEER)
    assert err.value.code is ErrorCode.NOT_SIGNED_IN and err.value.status == 401
    assert err.value.sign_in_url and err.value.flow_id
    assert core.sign_in_status(err.value.flow_id).state == "pending"
    with pytest.raises(CoreError) as unknown:
        await core.account(ALICE)
    assert unknown.value.code is ErrorCode.NOT_SIGNED_IN and unknown.value.status == 404


async def test_a_refresh_the_disk_will_not_take_is_served_from_memory_and_saved_later(
    core: DaemonCore, emu: EmulatorServer, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await signed_in(core, emu, ALICE)
    old = await core.bearer(ALICE, PEER)
    real_save = core.store.save
    failing = True

    async def save(record: object) -> None:
        if failing:
            raise OSError(errno.ENOSPC, "No space left on device")
        await real_save(record)  # type: ignore[arg-type]

    monkeypatch.setattr(core.store, "save", save)
    clock.advance(3600 - 100)
    fresh = await core.bearer(ALICE, PEER)  # the new access token is valid: it is served
    assert fresh.access_token != old.access_token
    assert (await core.bearer(ALICE, PEER)).access_token == fresh.access_token
    assert emu.counters["cway_token_refresh"] == 1  # the rotated refresh token is kept, not re-spent
    info = await core.account(ALICE)
    assert info.state == "unsaved" and info.last_error and "ENOSPC" in info.last_error
    stored = await core.store.load(ALICE)
    assert stored is not None and stored.access_token == old.access_token

    clock.advance(10)  # the background retry comes round while the disk is still full
    await core.engine.tick()
    await core.engine.drain()
    assert (await core.account(ALICE)).state == "unsaved"

    failing = False
    clock.advance(60)
    await core.engine.tick()
    await core.engine.drain()
    stored = await core.store.load(ALICE)
    assert stored is not None and stored.access_token == fresh.access_token
    info = await core.account(ALICE)
    assert info.state == "ok" and info.last_error is None and emu.counters["cway_token_refresh"] == 1


@pytest.mark.parametrize("rejected", ["sha256:é0123456789a", "\u2028", "\ud800", ""])
async def test_a_rejected_fingerprint_that_is_not_ascii_is_just_a_mismatch(
    core: DaemonCore, emu: EmulatorServer, rejected: str
) -> None:
    # hmac.compare_digest raises TypeError on non-ASCII str: that must not become a 500.
    await signed_in(core, emu, ALICE)
    held = await core.bearer(ALICE, PEER)
    answer = await core.force_refresh(ALICE, PEER, rejected=rejected)
    assert answer.access_token == held.access_token  # not the token we hold: nothing to refresh
    assert emu.counters["cway_token_refresh"] == 0


async def test_an_absurd_retry_after_is_capped_not_a_crash(
    core: DaemonCore, emu: EmulatorServer, clock: ManualClock, sleeps: SleepRecorder
) -> None:
    # "Retry-After: 999999999999" (31,000 years) overflowed datetime arithmetic: a 500 with no cooldown.
    await signed_in(core, emu, ALICE)
    emu.knobs.fail("cway_token", "429", count=10, retry_after=999_999_999_999)
    clock.advance(3600 + 1)  # the access token has expired: nothing to serve meanwhile
    with pytest.raises(CoreError) as err:
        await core.bearer(ALICE, PEER)
    assert err.value.code is ErrorCode.BACKEND_UNAVAILABLE and err.value.status == 503
    assert emu.counters["cway_token_refresh"] == 1  # the retry budget knew better than to wait
    with pytest.raises(CoreError) as again:  # cooling down: no second call to Cway
        await core.bearer(ALICE, PEER)
    assert again.value.code is ErrorCode.BACKEND_UNAVAILABLE and emu.counters["cway_token_refresh"] == 1


async def test_a_caller_that_goes_away_mid_refresh_does_not_lose_the_rotated_token(
    core: DaemonCore, emu: EmulatorServer, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await signed_in(core, emu, ALICE)
    before = await core.store.load(ALICE)
    assert before is not None
    clock.advance(3600 - 100)
    cway = EndpointGate(monkeypatch)
    caller = asyncio.create_task(core.bearer(ALICE, PEER))
    await cway.arrived(1)  # the refresh is at Cway
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    cway.release()
    fresh = await core.bearer(ALICE, PEER)  # waits for the orphaned refresh instead of starting another
    assert emu.counters["cway_token_refresh"] == 1
    stored = await core.store.load(ALICE)
    assert stored is not None and stored.access_token == fresh.access_token
    assert stored.refresh_token != before.refresh_token
