"""The tools keep the shim's cold start lean: no daemon/emulator stacks, and the schema is only
built when a query needs validating (not at import, not at registration)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
from mcp.server.mcpserver import MCPServer
from cway_tools import schema
from cway_tools.registry import register_cway_tools
register_cway_tools(MCPServer("probe"), None)
heavy = [m for m in ("fastapi", "apscheduler", "cway_emulator", "cway_authd") if m in sys.modules]
print(json.dumps({"heavy": heavy, "schema_built": schema._schema is not None}))
"""


def test_registering_the_tools_imports_nothing_heavy() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report == {"heavy": [], "schema_built": False}
