"""The refresh pool's concurrency rule: as few refreshes in flight as the deadlines allow."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from cway_authd.refresh.schedule import RefreshScheduler, SlackRule
from cway_contract.clock import ManualClock

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def rule(seconds_per_refresh: float, ceiling: int = 8) -> SlackRule:
    slack = SlackRule(ceiling)
    for _ in range(50):
        slack.observe(seconds_per_refresh)
    return slack


def test_a_thousand_accounts_due_five_minutes_before_expiry_run_one_or_two_at_a_time() -> None:
    deadlines = [NOW + timedelta(seconds=300)] * 1000
    assert rule(0.1).needed(deadlines, 0, NOW) == 1  # 100 s of work in 150 s of half-slack
    assert rule(0.2).needed(deadlines, 0, NOW) == 2


def test_concurrency_rises_only_when_the_schedule_would_otherwise_miss() -> None:
    tight = [NOW + timedelta(seconds=30)] * 1000
    assert rule(0.1).needed(tight, 0, NOW) == 7  # 100 s of work in 15 s of half-slack
    assert rule(0.2).needed(tight, 0, NOW) == 8  # would need 14: the ceiling
    assert rule(0.1).needed([NOW - timedelta(seconds=1)], 0, NOW) == 8  # a deadline already missed
    # A few urgent accounts among many relaxed ones: the urgent ones decide.
    mixed = [NOW + timedelta(seconds=2)] * 5 + [NOW + timedelta(hours=1)] * 500
    assert rule(0.1, ceiling=20).needed(mixed, 0, NOW) == 1
    assert rule(0.1, ceiling=20).needed(mixed, 10, NOW) == 2  # ten already running go first


def test_the_first_refreshes_replace_the_initial_guess_quickly() -> None:
    slack = SlackRule(8)
    deadlines = [NOW + timedelta(seconds=300)] * 1000
    assert slack.needed(deadlines, 0, NOW) == 4  # 0.5 s guessed per refresh
    for _ in range(4):
        slack.observe(0.05)
    assert slack.needed(deadlines, 0, NOW) == 1


def test_the_pool_runs_the_nearest_deadline_first_and_no_more_at_once_than_the_rule_allows() -> None:
    clock = ManualClock(NOW)
    order: list[str] = []
    running = 0
    most = 0

    async def worker(key: str) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        order.append(key)
        await asyncio.sleep(0.001)
        running -= 1

    deadlines = {f"relaxed{i}": NOW + timedelta(hours=1) for i in range(50)} | {"urgent": NOW + timedelta(seconds=60)}

    async def main() -> RefreshScheduler:
        pool = RefreshScheduler(clock, worker, concurrency=8, deadline_of=lambda key, _now: deadlines[key])
        for _ in range(10):
            pool.rule.observe(0.01)
        pool.start()
        try:
            for key in deadlines:  # the urgent one is dispatched last
                pool.dispatch(key, NOW, plan=False)
            pool.plan(NOW)
            await pool.drain()
        finally:
            await pool.stop()
        return pool

    pool = asyncio.run(main())
    assert order[0] == "urgent"
    assert sorted(order) == sorted(deadlines)
    assert most == pool.peak == 1


def test_workers_that_waited_under_a_higher_limit_do_not_exceed_a_lower_one() -> None:
    clock = ManualClock(NOW)
    running = 0
    most = 0

    async def worker(key: str) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.001)
        running -= 1

    deadlines = {"urgent": NOW + timedelta(seconds=0.2)} | {f"relaxed{i}": NOW + timedelta(hours=1) for i in range(30)}

    async def main() -> list[int]:
        nonlocal most
        pool = RefreshScheduler(clock, worker, concurrency=8, deadline_of=lambda key, _now: deadlines[key])
        pool.start()
        try:
            pool.dispatch("urgent", NOW)  # 0.5 s guessed per refresh, 0.1 s of half-slack: the whole pool
            limits = [pool.limit]
            await pool.drain()
            await asyncio.sleep(0.01)  # every worker now waits for work, holding a slot of the old limit
            most = 0
            for key in list(deadlines)[1:]:
                pool.dispatch(key, NOW, plan=False)
            limits.append(pool.plan(NOW))
            await pool.drain()
        finally:
            await pool.stop()
        return limits

    assert asyncio.run(main()) == [5, 1]  # five slots taken for the urgent one, then one
    assert most == 1
