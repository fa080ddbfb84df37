"""Every tool through the real thing: the SDK's stdio client spawning ``cway-mcp``, bearers from
the real daemon over its socket, Cway and Entra emulated.

The per-tool cases are the ones ``tests/shim_tools/test_tools_each.py`` runs in-process; here
they run in one shim process: read-only tools first, then the error paths, then each change on
freshly seeded data (``emu.reset_data()`` keeps the sign-ins). No token may appear in any answer.
"""

from __future__ import annotations

from cway_emulator.server import EmulatorServer
from tests.helpers.daemon import RunningDaemon
from tests.shim.harness import secrets_in, shim_session, sign_in, text_of
from tests.shim_tools.conftest import ADMIN, ALICE, BOB, DAVE
from tests.shim_tools.test_tools_each import ERRORS, HAPPY, NOBODY
from tests.shim_tools.test_tools_listing import EXPECTED_TOOLS, MORE_WRITE_TOOLS

#: The cases that change Cway's data.
MUTATIONS: tuple[str, ...] = (
    "close_projects",
    "reopen_projects",
    "create_project",
    "reject_artwork",
    "approve_artworks",
    "reject_artworks",
    "approve_artwork",
    "create_download_job",
    "remind_approver",
    "revoke_artwork_decisions",
    "add_correction",
    "create_artwork",
    "assign_users_to_artworks",
    "update_project_notes",
    "set_project_manager",
    # issue 19: artwork lifecycle and project administration
    "start_artworks", "cancel_artworks", "deliver_artworks", "revoke_artwork_delivery", "reject_delivered_artworks",
    "delete_artworks", "rename_artwork", "set_artwork_dates", "change_artwork_category", "assign_artwork_role",
    "remove_artwork_approver", "checkout_artwork", "launch_projects", "deliver_project", "set_project_dates",
    "edit_project", "change_project_orderer", "add_files_to_project", "remove_files_from_project", "delete_projects",
    "export_project",
)  # fmt: skip
# Media center changes, shares, people and catalogue (issue 19): every write tool of those modules.
MUTATIONS += tuple(sorted(MORE_WRITE_TOOLS))


async def test_every_tool_through_a_spawned_shim_and_the_daemon(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon
) -> None:
    async with shim_session({**env, "CWAY_USERNAME": ALICE}) as shim:
        for user in (ALICE, BOB, DAVE, ADMIN):  # the cases act as these people
            await sign_in(shim, emu, user)
        listed = {tool.name for tool in (await shim.session.list_tools()).tools}
        assert EXPECTED_TOOLS <= listed

        reads = [tool for tool in sorted(HAPPY) if tool not in MUTATIONS]
        for tool in reads:
            arguments, needle = HAPPY[tool]
            result = await shim.call(tool, arguments)
            assert not result.is_error, f"{tool}: {text_of(result)}"
            assert needle in text_of(result), f"{tool}: {text_of(result)}"

        for tool in sorted(ERRORS):
            arguments, needle, _ = ERRORS[tool]
            if arguments.get("username") == NOBODY:  # no static token here: the daemon has no such account
                needle = f"Cway sign-in needed for {NOBODY}"
            result = await shim.call(tool, arguments)
            assert result.is_error, f"{tool} should have failed: {text_of(result)}"
            assert needle in text_of(result), f"{tool}: {text_of(result)}"
            assert "Traceback" not in text_of(result)

        for tool in MUTATIONS:
            emu.reset_data()  # each case expects the seed state (the sign-ins stay valid)
            arguments, needle = HAPPY[tool]
            result = await shim.call(tool, arguments)
            assert not result.is_error, f"{tool}: {text_of(result)}"
            assert needle in text_of(result), f"{tool}: {text_of(result)}"

        tokens = [(await daemon_bearer(daemon, user)) for user in (ALICE, BOB, DAVE, ADMIN)]
    assert set(MUTATIONS) <= set(HAPPY)
    assert secrets_in("\n".join(shim.transcript), tokens) == []


async def daemon_bearer(daemon: RunningDaemon, username: str) -> str:
    from cway_contract.daemon_client import DaemonClient

    async with DaemonClient(daemon.socket_path) as client:
        return (await client.bearer(username)).access_token
