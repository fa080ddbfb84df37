"""The one due-time rule (``cway_auth_core.refresh_due``) that the daemon and the remote server both follow.

Pinned on its edges: exactly at the due time, a short-lived token (half its lifetime), an expired
token, a refresh token with no known expiry, and one whose expiry comes before the access token's
due time. Then both callers are shown to answer with this rule, not a copy of it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from cway_auth_core import refresh_due
from cway_authd.refresh.engine import RefreshEngine
from cway_authd.store import TokenRecord
from cway_contract.clock import ManualClock
from cway_remote import refresh as remote_refresh
from cway_remote.refresh import RemoteRefresher

ISSUED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
THRESHOLD = timedelta(minutes=5)


def record(
    lifetime: timedelta = timedelta(hours=1),
    refresh_lifetime: timedelta | None = None,
    token: str = "access-token-A",
    refreshed: datetime | None = None,
) -> TokenRecord:
    issued = refreshed or ISSUED
    return TokenRecord(
        username="alice@contoso.example",
        access_token=token,
        refresh_token="refresh-token-A",
        access_expires_at=issued + lifetime,
        refresh_expires_at=issued + refresh_lifetime if refresh_lifetime is not None else None,
        created_at=ISSUED,
        last_refreshed_at=refreshed,
    )


def test_due_exactly_threshold_before_expiry_and_not_a_microsecond_earlier() -> None:
    rec = record()
    due = ISSUED + timedelta(hours=1) - THRESHOLD
    assert refresh_due.due_at(rec, THRESHOLD) == due
    assert refresh_due.is_due(rec, THRESHOLD, due)  # at the boundary: due
    assert not refresh_due.is_due(rec, THRESHOLD, due - timedelta(microseconds=1))


def test_a_short_lived_token_is_due_at_half_its_lifetime_never_at_issue() -> None:
    rec = record(lifetime=timedelta(minutes=4))  # less than the threshold: min(threshold, lifetime / 2)
    assert refresh_due.due_at(rec, THRESHOLD) == ISSUED + timedelta(minutes=2)
    assert not refresh_due.is_due(rec, THRESHOLD, ISSUED)


def test_the_lifetime_counts_from_the_last_refresh() -> None:
    later = ISSUED + timedelta(hours=3)
    rec = record(lifetime=timedelta(minutes=6), refreshed=later)
    assert refresh_due.due_at(rec, THRESHOLD) == later + timedelta(minutes=3)


def test_an_expired_token_is_due_and_a_zero_lifetime_one_is_due_at_expiry() -> None:
    rec = record()
    assert refresh_due.is_due(rec, THRESHOLD, ISSUED + timedelta(days=2))
    instant = record(lifetime=timedelta(0))
    assert refresh_due.due_at(instant, THRESHOLD) == instant.access_expires_at


def test_refresh_token_expiry_is_inclusive_and_an_unknown_one_never_passes() -> None:
    rec = record(refresh_lifetime=timedelta(hours=40))
    end = ISSUED + timedelta(hours=40)
    assert not refresh_due.refresh_token_expired(rec, end - timedelta(microseconds=1))
    assert refresh_due.refresh_token_expired(rec, end)
    assert not refresh_due.refresh_token_expired(record(refresh_lifetime=None), ISSUED + timedelta(days=10_000))


@pytest.mark.parametrize("token", ["access-token-A", "access-token-B", "x" * 900])
def test_planned_is_due_minus_a_bounded_token_derived_jitter(token: str) -> None:
    rec = record(token=token)
    due = refresh_due.due_at(rec, THRESHOLD)
    planned = refresh_due.planned_at(rec, THRESHOLD)
    assert due - timedelta(seconds=refresh_due.MAX_JITTER_SECONDS) <= planned <= due
    assert refresh_due.planned_at(record(token=token), THRESHOLD) == planned  # the same token, the same time


def test_planned_never_after_the_refresh_tokens_own_due_time() -> None:
    rec = record(lifetime=timedelta(hours=1), refresh_lifetime=timedelta(minutes=20))
    assert refresh_due.planned_at(rec, THRESHOLD) == ISSUED + timedelta(minutes=15)
    short = record(lifetime=timedelta(hours=1), refresh_lifetime=timedelta(minutes=4))  # half its lifetime
    assert refresh_due.planned_at(short, THRESHOLD) == ISSUED + timedelta(minutes=2)


def test_the_daemon_and_the_remote_server_answer_with_this_rule() -> None:
    clock = ManualClock(ISSUED)
    unused = cast(Any, None)  # the timing answers touch no store, book or backend
    engine = RefreshEngine(clock=clock, store=unused, book=unused, refresher=unused, audit=None, threshold_seconds=300)
    remote = RemoteRefresher(store=unused, exchange=unused, clock=clock, threshold_seconds=300, audit=None)
    assert remote_refresh.refresh_due_at is refresh_due.due_at  # what the PostgreSQL store indexes on
    for rec in (record(), record(lifetime=timedelta(minutes=4)), record(refresh_lifetime=timedelta(minutes=20))):
        due = refresh_due.due_at(rec, THRESHOLD)
        assert engine.due_at(rec) == remote.due_at(rec) == due
        assert engine.planned_at(rec) == refresh_due.planned_at(rec, THRESHOLD)
        for now in (due - timedelta(microseconds=1), due):
            clock.set(now)
            assert engine.is_due(rec) == remote.is_due(rec) == refresh_due.is_due(rec, THRESHOLD, now)
