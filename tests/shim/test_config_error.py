"""A shim with a bad configuration still starts, and every answer carries the error and its fix.

Without this, an MCP client shows only "Connection closed". Spawned for real, as a client does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

from tests.helpers.daemon import process_env
from tests.shim.harness import text_of

EXPECTED = "CWAY_API_TOKEN=unset: AUTH_METHOD=static needs a Cway API token"


@pytest.mark.slow
async def test_a_badly_configured_shim_answers_every_call_with_the_error(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('AUTH_METHOD = "static"\n')  # and no CWAY_API_TOKEN
    env = process_env({"CWAY_MCP_CONFIG": str(config), "HOME": str(tmp_path)})
    params = StdioServerParameters(command=sys.executable, args=["-m", "cway_mcp_shim"], env=env, cwd=str(tmp_path))
    errlog_path = tmp_path / "stderr.log"
    with errlog_path.open("w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            init = await session.initialize()
            assert EXPECTED in (init.instructions or "")
            tools = await session.list_tools()
            assert [t.name for t in tools.tools] == ["configuration_error"]
            answers = [
                await session.call_tool("list_projects", {}),  # a tool the client remembers from a good start
                await session.call_tool("configuration_error", {}),
                await session.call_tool("no_such_tool", {"x": 1}),
            ]
    for answer in answers:
        assert answer.is_error
        text = text_of(answer)
        assert EXPECTED in text and "create one in Cway's settings" in text
        assert "cway-auth doctor" in text
    stderr = errlog_path.read_text()
    assert stderr.startswith(f"cway-mcp: configuration error: {EXPECTED}")
    assert "Traceback" not in stderr
