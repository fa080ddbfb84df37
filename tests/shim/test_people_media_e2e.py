"""A working day's media and people chores through a spawned shim (trimmed environment, as a
desktop client spawns it), bearers from the real daemon, Cway and Entra emulated: an admin makes
a team and adds people; a user creates a folder, lets a colleague in and shares a file with them;
the colleague sees the folder and the share; someone outside the team cannot change it."""

from __future__ import annotations

from cway_emulator.server import EmulatorServer
from tests.helpers.daemon import RunningDaemon
from tests.shim.harness import shim_session, sign_in, text_of
from tests.shim_tools.conftest import ADMIN, ALICE, DAVE, file_id, folder_id


async def test_an_admin_makes_a_team_and_a_user_shares_from_a_new_folder(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon
) -> None:
    async with shim_session({**env, "CWAY_USERNAME": ALICE, "CWAY_MCP_AUTOSTART": "0"}, trimmed=True) as shim:
        for user in (ADMIN, ALICE, DAVE):
            await sign_in(shim, emu, user)

        team = (await shim.ok("create_team", {"name": "Launch crew", "username": ADMIN})).structured_content
        assert team is not None
        added = await shim.ok(
            "add_team_members", {"team_id": team["id"], "usernames": [ALICE, DAVE], "username": ADMIN}
        )
        assert {m["username"] for m in (added.structured_content or {})["members"]} == {ALICE, DAVE}
        refused = await shim.error("add_team_members", {"team_id": team["id"], "usernames": [ADMIN], "username": DAVE})
        assert "only an organisation admin or an admin of the team" in refused

        folder = (await shim.ok("create_media_folder", {"name": "Launch"})).structured_content or {}
        assert "not found" in await shim.error("get_media_folder", {"folder_id": folder["folder_id"], "username": DAVE})
        await shim.ok("set_folder_user", {"folder_id": folder["folder_id"], "user": DAVE, "write": True})
        await shim.ok(
            "copy_media_items",
            {"source_folder_id": folder_id(2), "target_folder_id": folder["folder_id"], "item_ids": [file_id(1)]},
        )
        seen = await shim.ok("find_media_items", {"folder_id": folder["folder_id"], "username": DAVE})
        (item,) = (seen.structured_content or {})["items"]
        assert item["name"] == "contoso-logo.svg"

        # This client cannot show forms: the destructive/sensitive hints are its protection.
        shared = await shim.ok(
            "share_media", {"title": "Launch logo", "emails": DAVE, "file_ids": [item["file"]["id"]]}
        )
        assert (shared.structured_content or {})["recipients"] == [DAVE]
        inbox = await shim.ok("list_shares", {"shared_to": DAVE, "include_read": False, "username": DAVE})
        assert "Launch logo" in text_of(inbox)
