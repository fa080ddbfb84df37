"""What a client sees when it lists: every tool annotated, with an output schema and a
``username`` argument; the schema resource readable. Driven through a real MCPServer in-process."""

from __future__ import annotations

from mcp.types import TextResourceContents

from cway_mcp_shim.schema import schema_sdl
from tests.shim_tools.conftest import connected
from tests.shim_tools.static_gateway import StaticTokenGateway

EXPECTED_TOOLS = {
    # projects
    "list_projects", "get_project", "get_project_team", "get_project_history", "summarize_project",
    "list_planner_projects", "close_projects", "reopen_projects", "create_project",
    # project work
    "create_artwork", "assign_users_to_artworks", "update_project_notes", "set_project_manager",
    # artworks
    "list_artworks_to_approve", "list_artworks_to_upload", "get_artwork", "get_artwork_history", "review_artwork",
    "approve_artwork", "reject_artwork", "approve_artworks", "reject_artworks",
    "remind_approver", "revoke_artwork_decisions", "add_correction",
    # AI answers (over a subscription)
    "analyze_artwork", "summarize_project_history", "get_pending_result",
    # organisation, users and system
    "list_organisations", "switch_organisation", "get_statistics", "find_users", "get_user", "get_system_status",
    # media center, shares, downloads
    "list_media_folders", "get_media_folder", "find_media_items", "list_shares", "get_share",
    "get_file_download_url", "create_download_job",
    # long tail
    "graphql_query",
}  # fmt: skip

READ_ONLY = EXPECTED_TOOLS - {
    "close_projects", "reopen_projects", "create_project", "approve_artwork", "reject_artwork",
    "approve_artworks", "reject_artworks", "create_download_job",
    "create_artwork", "assign_users_to_artworks", "update_project_notes", "set_project_manager",
    "remind_approver", "revoke_artwork_decisions", "add_correction", "switch_organisation",
}  # fmt: skip
PAGED = {
    "list_projects", "get_project_history", "list_planner_projects", "list_artworks_to_approve",
    "list_artworks_to_upload", "get_artwork_history", "find_users", "find_media_items", "list_shares",
}  # fmt: skip
DESTRUCTIVE = {
    "close_projects", "approve_artwork", "reject_artwork", "approve_artworks", "reject_artworks",
    "revoke_artwork_decisions", "assign_users_to_artworks", "update_project_notes", "set_project_manager",
}  # fmt: skip
#: Tools about this server's configuration rather than an account's data (static tokens).
NO_ACCOUNT = {"switch_organisation"}
#: Reads that still start something new on every call (an AI job: a new thread, a new answer).
READ_ONLY_NOT_IDEMPOTENT = {"analyze_artwork", "summarize_project_history"}


async def test_every_tool_has_annotations_output_schema_and_username(gateway: StaticTokenGateway) -> None:
    async with connected(gateway) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == EXPECTED_TOOLS
    for name, tool in tools.items():
        a = tool.annotations
        assert a is not None, name
        hints = (a.read_only_hint, a.destructive_hint, a.idempotent_hint, a.open_world_hint)
        assert None not in hints, f"{name}: {hints}"
        assert a.read_only_hint is (name in READ_ONLY), name
        assert a.destructive_hint is (name in DESTRUCTIVE), name
        if name in READ_ONLY:
            assert a.idempotent_hint is (name not in READ_ONLY_NOT_IDEMPOTENT), name
        assert tool.title and a.title is None, name  # one place for titles: Tool.title
        assert tool.output_schema and tool.output_schema.get("type") == "object", name
        assert tool.output_schema.get("properties"), name
        if name not in NO_ACCOUNT:
            assert "username" in tool.input_schema["properties"], name
        assert "username" not in tool.input_schema.get("required", []), name
        assert tool.description and len(tool.description) > 60, name


async def test_list_tools_advertise_paging(gateway: StaticTokenGateway) -> None:
    async with connected(gateway) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    listing = [n for n, t in tools.items() if "page_size" in t.input_schema["properties"]]
    assert set(listing) == PAGED
    for name in listing:
        props = tools[name].input_schema["properties"]
        assert props["page_size"]["maximum"] == 100 and props["page_size"]["minimum"] == 1, name
        out = tools[name].output_schema or {}
        assert {"page", "page_size", "total", "has_more"} <= set(out["properties"]), name


async def test_schema_resource(gateway: StaticTokenGateway) -> None:
    async with connected(gateway) as client:
        resources = (await client.list_resources()).resources
        (schema,) = [r for r in resources if str(r.uri) == "cway://schema.graphql"]
        assert schema.mime_type == "application/graphql"
        read = await client.read_resource("cway://schema.graphql")
    (content,) = read.contents
    assert isinstance(content, TextResourceContents)
    assert content.text == schema_sdl()
    assert "type Query" in content.text
