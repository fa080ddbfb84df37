"""Regenerate ``tool_schemas.json``, the input/output schemas ``tools/list`` serves before a tool is built.

Run ``make tool-schemas`` (or ``python -m cway_mcp_shim.tool_schema_cache``) after changing any
tool's arguments or output model; ``tests/shim_tools/test_tool_schema_cache.py`` fails until then.
The schemas are the SDK's own (``Tool.from_function``) before the shim closes them: closing
(``additionalProperties: false``) is applied at listing time, as for a built tool.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from cway_mcp_shim.auth_tools import AuthTools, register_auth_tools
from cway_tools import SCHEMAS_FILE, LazyServer, ToolSelection, register_cway_tools, register_enable_toolset


def registered_server() -> LazyServer:
    """A shim server with every tool registered (none built) and no clients: only for reading schemas."""
    server = LazyServer(name="schemas", cached={})
    register_auth_tools(server, AuthTools(None, SimpleNamespace(settings=None)))  # type: ignore[arg-type]
    register_cway_tools(server, None)  # type: ignore[arg-type]
    register_enable_toolset(server, ToolSelection())  # listed whenever a toolset is off
    return server


def live_schemas() -> dict[str, Any]:
    """Every registered tool's schemas as the SDK builds them now (this builds every tool)."""
    out: dict[str, Any] = {}
    for name, registration in registered_server().lazy_tools.registrations.items():
        tool = registration.build()
        out[name] = {"input": tool.parameters, "output": tool.output_schema}
    return {"tools": out}


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(path: Path = SCHEMAS_FILE) -> int:
    path.write_text(render(live_schemas()), encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
