"""Organisations: memberships and the current organisation in every mode; with static API tokens,
one token per organisation (``CWAY_TOKEN_<ORG>``) and ``switch_organisation`` between them, as the
upstream server offered. Driven through the real runtime (settings loader, HTTP gateway) in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp import Client
from mcp.types import TextContent

from cway_contract.config import load_settings
from cway_emulator import EmulatorServer
from cway_emulator.fixtures import ERIN, ORG_FABRIKAM
from cway_mcp_shim.server import build_server
from tests.shim_tools.conftest import connected
from tests.shim_tools.static_gateway import StaticTokenGateway


def text(result: Any) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, TextContent))


async def test_static_tokens_per_organisation_and_switching(emulator: EmulatorServer, tmp_path: Path) -> None:
    emulator.reset()
    config = tmp_path / "config.toml"
    config.touch()
    env = {
        "CWAY_MCP_CONFIG": str(config),
        "AUTH_METHOD": "static",
        "CWAY_API_URL": emulator.cway_api_url,
        "CWAY_API_TOKEN": emulator.issue_static_token(ERIN),  # lands in Contoso, her first organisation
        "CWAY_TOKEN_FABRIKAM": emulator.issue_static_token(ERIN, ORG_FABRIKAM),
        "CWAY_TOOLSETS": "all",  # list_organisations / switch_organisation are in the admin toolset
    }
    settings = load_settings(env, component="shim", cwd=tmp_path)
    assert set(settings.cway_org_tokens) == {"fabrikam"}
    assert env["CWAY_TOKEN_FABRIKAM"] not in repr(settings)  # a secret: never in a repr (nor its origin)
    async with Client(build_server(settings)) as client:
        before = (await client.call_tool("list_organisations", {})).structured_content or {}
        contoso = (await client.call_tool("list_projects", {})).structured_content or {}
        switched = await client.call_tool("switch_organisation", {"organisation": "Fabrikam"})
        fabrikam = (await client.call_tool("list_projects", {})).structured_content or {}
        wrong = await client.call_tool("switch_organisation", {"organisation": "northwind"})
        after = (await client.call_tool("list_organisations", {})).structured_content or {}
    assert before["current_organisation_name"] == "Contoso Print" and before["can_switch"] is True
    assert before["tokens"] == [{"name": "default", "active": True}, {"name": "fabrikam", "active": False}]
    assert {o["name"] for o in before["organisations"]} == {"Contoso Print", "Fabrikam Packaging"}
    assert not switched.is_error, text(switched)
    assert (switched.structured_content or {})["current_organisation_name"] == "Fabrikam Packaging"
    assert {p["name"] for p in contoso["projects"]} >= {"Spring Campaign 2026"}
    assert {p["name"] for p in fabrikam["projects"]} == {"Fabrikam Label Series", "Fabrikam Secret Launch"}
    assert wrong.is_error and "configured: default, fabrikam" in text(wrong)
    assert after["tokens"][1] == {"name": "fabrikam", "active": True}  # a wrong name changes nothing


async def test_per_user_mode_shows_memberships_and_does_not_switch(
    gateway: StaticTokenGateway, emulator: EmulatorServer
) -> None:
    gateway.tokens[ERIN] = emulator.issue_static_token(ERIN)
    async with connected(gateway) as client:
        listed = (await client.call_tool("list_organisations", {"username": ERIN})).structured_content or {}
        refused = await client.call_tool("switch_organisation", {"organisation": "fabrikam"})
    assert listed["current_organisation_name"] == "Contoso Print" and listed["can_switch"] is False
    assert [o["current"] for o in listed["organisations"]] == [True, False]
    assert "tokens" not in listed
    assert refused.is_error and "Cway's API has no operation to change the current organisation" in text(refused)
