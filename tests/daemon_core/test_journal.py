"""The refresh journal: a refresh that Cway answered but whose save never happened is restored at start."""

from __future__ import annotations

from datetime import timedelta

from cway_authd.store import TokenRecord
from cway_authd.store.journal import RefreshJournal, replay_journal
from cway_common.clock import ManualClock

from .conftest import CoreFactory


async def test_a_journalled_refresh_whose_save_never_happened_is_restored_at_start(
    open_core: CoreFactory, clock: ManualClock
) -> None:
    core = await open_core(start=False)
    now = clock.now()
    stored = TokenRecord(
        username="alice@x",
        access_token="stored-access",
        refresh_token="stored-refresh",
        access_expires_at=now + timedelta(hours=1),
        created_at=now,
    )
    await core.store.save(stored)
    newer = stored.replace(
        access_token="newer-access", refresh_token="newer-refresh", last_refreshed_at=now + timedelta(minutes=1)
    )
    journal = core.engine.journal
    assert isinstance(journal, RefreshJournal)
    journal.append(newer)  # Cway answered and the journal has it; then the process died before the save
    keys = core._key_material
    assert keys is not None
    assert [r.refresh_token for r in replay_journal(journal.path.parent, keys)] == ["newer-refresh"]
    journal.close()  # no core.stop(): that is a clean shutdown, which empties the journal
    assert core._store_lock is not None
    core._store_lock.release()
    core._store_lock = None

    restarted = await open_core()
    loaded = await restarted.store.load("alice@x")
    assert loaded is not None and loaded.refresh_token == "newer-refresh"
    assert (await restarted.account("alice@x")).state == "ok"
    assert replay_journal(journal.path.parent, keys) == []  # emptied once restored
