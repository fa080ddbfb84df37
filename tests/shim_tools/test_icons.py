"""Icons: one self-contained SVG per toolset and one for the server, on the wire of a real session."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from mcp import Client

from cway_contract.config import load_settings
from cway_emulator import EmulatorServer
from cway_emulator.fixtures import ERIN
from cway_mcp_shim.server import build_server
from cway_tools.icons import SERVER_ICONS, TOOLSETS, icon_for_toolset

NAMES = ("approvals", "projects", "artworks", "media", "people", "catalogue", "admin", "ai")


@pytest.mark.parametrize("name", NAMES)
def test_each_toolset_has_a_self_contained_svg(name: str) -> None:
    (icon,) = icon_for_toolset(name) or []
    assert icon.mime_type == "image/svg+xml" and icon.sizes == ["any"]
    assert icon.src.startswith("data:image/svg+xml,")
    svg = unquote(icon.src.split(",", 1)[1])
    assert svg.startswith("<svg xmlns='http://www.w3.org/2000/svg'") and svg.endswith("</svg>")
    assert not re.search(r"(href|src)\s*=|url\(|<script|<image", svg)  # draws nothing from anywhere


def test_unknown_toolset_has_no_icon_and_icons_differ() -> None:
    assert set(TOOLSETS) == set(NAMES)
    assert icon_for_toolset("nope") is None
    assert len({icon_for_toolset(n)[0].src for n in NAMES}) == len(NAMES)  # type: ignore[index]


async def test_server_and_every_tool_carry_icons_on_the_wire(emulator: EmulatorServer, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.touch()
    env = {
        "CWAY_MCP_CONFIG": str(config),
        "AUTH_METHOD": "static",
        "CWAY_API_URL": emulator.cway_api_url,
        "CWAY_API_TOKEN": emulator.issue_static_token(ERIN),
    }
    async with Client(build_server(load_settings(env, component="shim", cwd=tmp_path))) as client:
        compact = (await client.list_tools()).tools  # the default set's short listing drops icons (toolsets.py)
    assert compact and not any(t.icons for t in compact)
    env["CWAY_TOOLSETS"] = "all"
    async with Client(build_server(load_settings(env, component="shim", cwd=tmp_path))) as client:
        assert client.server_info.icons == SERVER_ICONS  # type: ignore[union-attr]
        tools = {t.name: t for t in (await client.list_tools()).tools}
    approvals = icon_for_toolset("approvals")
    assert tools["review_artwork"].icons == approvals and tools["approve_artwork"].icons == approvals
    assert tools["list_projects"].icons == icon_for_toolset("projects")
    missing = {name for name, t in tools.items() if not t.icons}
    auth = {"login", "logout", "complete_login", "whoami", "auth_status", "list_authenticated_users"}
    assert missing <= auth, missing - auth  # every Cway tool has its toolset's icon; the auth tools have none yet
