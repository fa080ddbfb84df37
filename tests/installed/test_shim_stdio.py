"""The installed ``cway-mcp`` spawned by the SDK's stdio client as a desktop client does: only the
SDK's default environment plus the config's ``env`` block, talking to the installed daemon."""

from __future__ import annotations

import pytest

from cway_emulator.server import EmulatorServer
from tests.helpers.artifacts import InstalledVenv
from tests.helpers.daemon import RunningDaemon
from tests.shim.harness import shim_session, sign_in

pytestmark = pytest.mark.slow
ALICE = "alice@contoso.example"


async def test_the_installed_shim_signs_in_and_calls_cway(
    emu: EmulatorServer, installed_daemon: RunningDaemon, installed: InstalledVenv
) -> None:
    command = [str(installed.exe("cway-mcp"))]
    async with shim_session(installed_daemon.env, trimmed=True, command=command) as shim:
        tools = await shim.session.list_tools()
        assert {"login", "whoami", "list_projects"} <= {t.name for t in tools.tools}
        await sign_in(shim, emu, ALICE)
        who = await shim.ok("whoami")
        assert who.structured_content is not None and who.structured_content["username"] == ALICE
        projects = await shim.ok("list_projects")
        assert projects.structured_content is not None
        schema = await shim.session.read_resource("cway://schema.graphql")  # package data, read at run time
        assert "type Query" in str(schema.contents[0])
