"""The refresh journal: a refresh that Cway answered but whose save never happened is restored at start."""

from __future__ import annotations

from datetime import timedelta

from cway_authd.store import TokenRecord
from cway_authd.store.journal import RefreshJournal, replay_journal
from cway_contract.clock import ManualClock

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


def _journal_record(name: str, refresh: str) -> TokenRecord:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, tzinfo=UTC)
    return TokenRecord(
        username=name,
        access_token=f"{refresh}-access",
        refresh_token=refresh,
        access_expires_at=now + timedelta(hours=1),
        created_at=now,
    )


def _keys() -> object:
    from cryptography.fernet import Fernet, MultiFernet

    class Keys:
        multifernet = MultiFernet([Fernet(Fernet.generate_key())])

    return Keys()


def test_an_append_is_flushed_to_the_disk_before_it_returns(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import os

    flushed: list[tuple[int, int]] = []
    real = os.fdatasync

    def spy(fd: int) -> None:  # the real flush, recorded with how much of the file it covered
        real(fd)
        flushed.append((fd, os.fstat(fd).st_size))

    monkeypatch.setattr(os, "fdatasync", spy)
    journal = RefreshJournal(tmp_path, _keys())  # type: ignore[arg-type]
    journal.append(_journal_record("alice@x", "r1"))
    size = (tmp_path / ".refresh-journal").stat().st_size
    assert flushed and flushed[-1][1] == size  # the whole entry was on stable storage when append returned
    journal.close()


def test_forget_rewrites_the_journal_without_the_account(tmp_path) -> None:  # type: ignore[no-untyped-def]
    keys = _keys()
    journal = RefreshJournal(tmp_path, keys)  # type: ignore[arg-type]
    for n in range(3):
        journal.append(_journal_record("alice@x", f"alice-{n}"))
        journal.append(_journal_record("bob@x", f"bob-{n}"))
    assert journal.forget("alice@x") == 3
    journal.append(_journal_record("bob@x", "bob-3"))  # appends go on in the new file
    assert [r.refresh_token for r in replay_journal(tmp_path, keys)] == ["bob-3"]  # type: ignore[arg-type]
    raw = (tmp_path / ".refresh-journal").read_bytes()
    lines = raw.splitlines()
    assert len(lines) == 4
    plain = [keys.multifernet.decrypt(line) for line in lines]  # type: ignore[attr-defined]
    assert not any(b"alice" in p for p in plain) and all(b"bob" in p for p in plain)
    assert journal.forget("carol@x") == 0
    journal.close()


def test_the_journal_is_not_emptied_while_it_holds_a_save_that_failed(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from cway_authd.store import journal as journal_module

    monkeypatch.setattr(journal_module, "COMPACT_BYTES", 1)  # every settle would empty it
    keys = _keys()
    journal = RefreshJournal(tmp_path, keys)  # type: ignore[arg-type]
    journal.append(_journal_record("alice@x", "alice-1"))
    journal.settled(saved=False)  # the disk refused the record file: the journal is its only copy
    journal.append(_journal_record("bob@x", "bob-1"))
    journal.settled()
    assert sorted(r.refresh_token for r in replay_journal(tmp_path, keys)) == ["alice-1", "bob-1"]  # type: ignore[arg-type]
    journal.clear()  # a clean stop that kept everything
    journal.append(_journal_record("bob@x", "bob-2"))
    journal.settled()
    assert replay_journal(tmp_path, keys) == []  # type: ignore[arg-type]
    journal.close()
