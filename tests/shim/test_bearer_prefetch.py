"""The early bearer request (``bearer_prefetch.py``) against a real daemon process and the emulator.

What it promises: the daemon answers while the tool is still busy (the request is on the wire
before the tool's own work starts), the answer is used by the call it was made for and by
nothing else, a refusal reads exactly like one without it, and an answer nobody used is
dropped quietly. The daemon's audit log (one ``token_issued`` line per token it hands out)
shows how many bearer requests really reached it.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from cway_emulator.server import EmulatorServer
from cway_mcp_shim import bearer_prefetch
from cway_mcp_shim.bearer_prefetch import BearerPrefetch
from cway_mcp_shim.daemon_access import DaemonAccess
from cway_mcp_shim.daemon_bearer import DaemonBearer
from tests.daemon_server.conftest import browser_sign_in
from tests.helpers.daemon import RunningDaemon, running_daemon, settings_from_env
from tests.shim.harness import shim_session

pytestmark = pytest.mark.slow

ALICE = "alice@contoso.example"
BOB = "bob@contoso.example"
QUERY = "query { loginInfo { id } }"


@pytest.fixture
def daemon(env: dict[str, str]) -> Iterator[RunningDaemon]:
    """A daemon in its own process: it must answer while this test's thread is busy."""
    with running_daemon(env, mode="process", cleanup=False) as running:
        yield running


def issued(daemon: RunningDaemon) -> list[str]:
    """The account of every ``token_issued`` line in the daemon's audit log, in order."""
    path = Path(daemon.settings.state_dir) / "audit.log"
    lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [line["account"] for line in lines if line["event"] == "token_issued"]


def access(daemon: RunningDaemon) -> DaemonAccess:
    return DaemonAccess(settings_from_env(daemon.env))


async def test_the_daemon_answers_while_the_tool_is_still_busy(emu: EmulatorServer, daemon: RunningDaemon) -> None:
    await asyncio.to_thread(browser_sign_in, daemon, emu, ALICE)
    door = access(daemon)
    prefetch = BearerPrefetch(door, frozenset({"graphql_query"}), ALICE)
    try:
        async with prefetch.started("graphql_query", {"query": QUERY}):
            # The tool's own work, without yielding to the event loop (like validating a document):
            # the token is issued meanwhile only if the request was written before it started.
            deadline = time.monotonic() + 20
            while not issued(daemon) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert issued(daemon) == [ALICE]
            bearer = DaemonBearer(door, ALICE)
            token = await bearer.current()
        assert bearer.account == ALICE and token.count(".") == 2  # a Cway JWT
        assert issued(daemon) == [ALICE]  # the early answer was the call's: no second request
    finally:
        await door.aclose()


async def test_the_early_answer_is_only_for_its_own_account_and_only_once(
    emu: EmulatorServer, daemon: RunningDaemon
) -> None:
    await asyncio.to_thread(browser_sign_in, daemon, emu, ALICE)
    await asyncio.to_thread(browser_sign_in, daemon, emu, BOB)
    door = access(daemon)
    prefetch = BearerPrefetch(door, frozenset({"list_projects"}), ALICE)
    try:
        async with prefetch.started("list_projects", {"username": BOB}):  # the call names Bob
            assert bearer_prefetch.take(ALICE) is None
            bob = DaemonBearer(door, BOB)
            await bob.current()
            again = DaemonBearer(door, BOB)
            await again.current()  # a second Cway request of the same call asks the daemon itself
        assert bob.account == again.account == BOB
        assert issued(daemon) == [BOB, BOB]
        async with prefetch.started("whoami", {}):  # not a tool that gets an early request
            assert bearer_prefetch.take(ALICE) is None
        assert issued(daemon) == [BOB, BOB]
    finally:
        await door.aclose()


async def test_a_refused_early_request_reads_like_any_refusal(
    emu: EmulatorServer, daemon: RunningDaemon, caplog: pytest.LogCaptureFixture
) -> None:
    door = access(daemon)
    prefetch = BearerPrefetch(door, frozenset({"list_projects"}), None)
    try:
        with pytest.raises(ToolError) as plain:
            await DaemonBearer(door, ALICE).current()
        async with prefetch.started("list_projects", {"username": ALICE}):
            with pytest.raises(ToolError) as early:
                await DaemonBearer(door, ALICE).current()
        assert "sign-in" in str(plain.value).lower()
        assert str(early.value) == str(plain.value)  # same words, same (pending) sign-in link

        with caplog.at_level(logging.ERROR, logger="asyncio"):
            async with prefetch.started("list_projects", {"username": ALICE}):
                pass  # the tool failed before calling Cway: nobody takes the (refused) answer
            await asyncio.sleep(0.5)
            gc.collect()
        assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]
    finally:
        await door.aclose()


async def test_each_tool_call_through_the_shim_costs_one_bearer_request(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon
) -> None:
    await asyncio.to_thread(browser_sign_in, daemon, emu, ALICE)
    await asyncio.to_thread(browser_sign_in, daemon, emu, BOB)
    # Spawned the way a desktop client spawns it: the SDK's default environment plus the env block.
    async with shim_session({**env, "CWAY_USERNAME": ALICE, "CWAY_MCP_AUTOSTART": "0"}, trimmed=True) as shim:
        for _ in range(3):
            await shim.ok("graphql_query", {"query": QUERY})
        await shim.ok("graphql_query", {"query": QUERY, "username": BOB})
        await shim.ok("list_authenticated_users")  # asks the daemon for accounts, never for a token
        rejected = await shim.error("graphql_query", {"query": QUERY, "bogus": 1})  # refused before the tool
        assert "bogus" in rejected
    assert issued(daemon) == [ALICE, ALICE, ALICE, BOB]
