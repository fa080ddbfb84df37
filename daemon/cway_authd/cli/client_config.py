"""``cway-auth client-config claude|vscode|cursor|inspector``: the MCP client's config snippet.

Each client wants a different shape (VS Code: ``"servers"`` with ``"type": "stdio"``; Claude
Desktop and Cursor: ``"mcpServers"``), and none searches your shell's ``PATH`` reliably, so the
snippet carries the absolute path of ``cway-mcp`` and ``CWAY_USERNAME`` (the account this client
acts as). The snippet goes to stdout (redirect it into a file); where the file lives goes to stderr.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any, Literal

Client = Literal["claude", "vscode", "cursor", "inspector"]
CLIENTS: tuple[Client, ...] = ("claude", "vscode", "cursor", "inspector")
SERVER_NAME = "cway"
INSPECTOR = "@modelcontextprotocol/inspector@0.15.0"


class NoShim(Exception):
    pass


def cway_mcp_executable() -> Path:
    """The ``cway-mcp`` installed beside this ``cway-auth`` (same environment), else the one on PATH."""
    beside = Path(sys.executable).parent / "cway-mcp"
    if beside.is_file():
        return Path(os.path.abspath(beside))
    found = shutil.which("cway-mcp")
    if found:
        return Path(os.path.abspath(found))
    raise NoShim("cannot find the cway-mcp executable; install cway-mcp (`pipx install .`) first")


def config_location(client: Client, platform: str | None = None, home: Path | None = None) -> str:
    """Where the client reads its MCP servers from, on this OS."""
    platform = platform or sys.platform
    home = home or Path.home()
    if client == "claude":
        if platform == "darwin":
            return str(home / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json")
        if platform.startswith("win"):
            return r"%APPDATA%\Claude\claude_desktop_config.json"
        return str(home / ".config" / "Claude" / "claude_desktop_config.json") + " (unofficial Linux builds)"
    if client == "vscode":
        user = {
            "darwin": home / "Library" / "Application Support" / "Code" / "User" / "mcp.json",
        }.get(platform, home / ".config" / "Code" / "User" / "mcp.json")
        where = r"%APPDATA%\Code\User\mcp.json" if platform.startswith("win") else str(user)
        return f".vscode/mcp.json in the workspace, or {where} (command: MCP: Open User Configuration)"
    if client == "cursor":
        return f"{home / '.cursor' / 'mcp.json'} (all projects) or .cursor/mcp.json (one project)"
    return "no file: run the command below"


def snippet(client: Client, shim: Path, username: str | None) -> dict[str, Any]:
    env = {"CWAY_USERNAME": username} if username else {}
    server: dict[str, Any] = {"command": str(shim), "args": [], "env": env}
    if client == "vscode":
        return {"servers": {SERVER_NAME: {"type": "stdio", **server}}}
    return {"mcpServers": {SERVER_NAME: server}}


def inspector_command(shim: Path, username: str | None) -> str:
    words = ["npx", "-y", INSPECTOR]
    if username:
        words += ["-e", f"CWAY_USERNAME={username}"]
    return shlex.join([*words, str(shim)])
