"""The shutdown save keeps to its deadline and names every account it could not keep."""

from __future__ import annotations

import asyncio
import builtins
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest

from cway_authd.accounts import AccountBook
from cway_authd.shutdown_budget import ShutdownBudget
from cway_authd.store import TokenRecord
from cway_authd.store.durability import flush_unsaved

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class HangingDisk:
    """A store whose writes never finish (a hung network filesystem): only the deadline ends the wait."""

    async def save(self, record: TokenRecord) -> None:
        await asyncio.sleep(3600)

    async def load(self, username: str) -> TokenRecord | None:
        return None

    async def delete(self, username: str) -> bool:
        return False

    async def list(self) -> builtins.list[TokenRecord]:
        return []


def unsaved_book(count: int) -> AccountBook:
    book = AccountBook()
    for n in range(count):
        record = TokenRecord(
            username=f"user{n}@x",
            access_token=f"access-{n}",
            refresh_token=f"refresh-{n}",
            access_expires_at=NOW + timedelta(hours=1),
            created_at=NOW,
        )
        book.put_record(record).unsaved = True
    return book


def test_what_the_deadline_cuts_off_is_logged_by_name_without_a_token(caplog: pytest.LogCaptureFixture) -> None:
    book = unsaved_book(5)
    caplog.set_level(logging.ERROR, "cway_authd.store.durability")
    started = time.monotonic()
    lost = asyncio.run(
        flush_unsaved(book, HangingDisk(), HangingDisk(), deadline=time.monotonic() + 0.3)  # type: ignore[arg-type]
    )
    took = time.monotonic() - started
    assert sorted(lost) == [f"user{n}@x" for n in range(5)]
    assert took < 2.0  # the hung disk did not hold the stop past its deadline
    for n in range(5):
        assert f"could not save the refreshed tokens of user{n}@x anywhere" in caplog.text
    assert "stop timeout ran out" in caplog.text
    assert "refresh-" not in caplog.text and "access-" not in caplog.text


def test_the_budget_splits_the_stop_timeout_with_room_to_spare() -> None:
    budget = ShutdownBudget(45)
    assert budget.drain + budget.save + budget.margin == pytest.approx(45)
    assert budget.margin >= 3 and budget.save == 10
    clock = budget.start(now=100.0)
    assert clock.drain_until == pytest.approx(100 + budget.drain) and clock.save_until == pytest.approx(
        145 - budget.margin
    )
    small = ShutdownBudget(10)
    assert small.drain >= 1 and small.start(now=0).save_until < 10
