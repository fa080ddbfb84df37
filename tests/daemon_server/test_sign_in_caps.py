"""Pending sign-ins are capped, per account and in total, the oldest dropped first (real daemon, real socket).

A client that starts sign-ins in a loop (a buggy shim asking for thousands of names) used to leave
one pending flow, with its PKCE verifier, per start: 3 000 starts, 3 001 flows for ten minutes.
"""

from __future__ import annotations

import asyncio

from cway_auth_core.sign_in_flow import MAX_PENDING_FLOWS
from cway_contract.contract import ErrorCode, SignInStatus
from cway_contract.daemon_client import DaemonClient, DaemonError
from tests.helpers.daemon import RunningDaemon

STARTS = 3000
CALLERS = 8


def test_three_thousand_sign_in_starts_leave_at_most_the_cap_pending(emu_daemon: RunningDaemon) -> None:
    async def run() -> tuple[list[SignInStatus], int, SignInStatus, SignInStatus, DaemonError | None]:
        async with DaemonClient(emu_daemon.socket_path, timeout=30) as client:
            started: list[SignInStatus] = []
            names = iter(range(STARTS))

            async def caller() -> None:
                for i in names:  # the callers share one iterator: each name is started once
                    started.append(await client.start_sign_in(f"user{i}@contoso.example"))

            await asyncio.gather(*(caller() for _ in range(CALLERS)))
            # Per account: one pending flow, however the name is spelled (the last name's flow is still pending).
            last = f"user{STARTS - 1}@contoso.example"
            own = next(flow.flow_id for flow in started if flow.requested_username == last)
            again = await asyncio.gather(client.start_sign_in(last.upper()), client.start_sign_in(f" {last} "))
            assert {flow.flow_id for flow in again} == {own}
            health = await client.health()
            # Answers arrive up to CALLERS out of creation order: go back far enough to be sure.
            dropped = await client.sign_in_status(started[-(MAX_PENDING_FLOWS + CALLERS + 1)].flow_id)
            newest = await client.sign_in_status(started[-1].flow_id)
            try:
                await client.sign_in_status(started[0].flow_id)
                forgotten = None
            except DaemonError as exc:
                forgotten = exc
            return started, health.pending_sign_ins, dropped, newest, forgotten

    started, pending, dropped, newest, forgotten = asyncio.run(run())
    assert len({s.flow_id for s in started}) == STARTS  # every start got a flow of its own (distinct accounts)
    assert pending == MAX_PENDING_FLOWS, f"{STARTS} starts left {pending} pending sign-ins"
    assert dropped.state == "expired" and dropped.message and "oldest" in dropped.message
    assert dropped.authorization_url is None  # nothing left to open
    assert newest.state == "pending" and newest.authorization_url
    # Finished flows are remembered for a while, but not thousands of them: the first is forgotten.
    assert forgotten is not None and forgotten.code is ErrorCode.NOT_FOUND
