"""What a client sees when it lists: every tool annotated, with an output schema and a
``username`` argument; the schema resource readable. Driven through a real MCPServer in-process."""

from __future__ import annotations

from mcp.types import TextResourceContents

from cway_tools.schema import schema_sdl
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
    # artwork lifecycle (toolset artworks)
    "start_artworks", "cancel_artworks", "deliver_artworks", "revoke_artwork_delivery", "reject_delivered_artworks",
    "delete_artworks", "rename_artwork", "set_artwork_dates", "change_artwork_category", "assign_artwork_role",
    "remove_artwork_approver", "checkout_artwork", "checkin_artwork", "list_artwork_corrections",
    "set_correction_validity",
    # project administration (toolset projects)
    "launch_projects", "deliver_project", "set_project_dates", "edit_project", "change_project_orderer",
    "add_files_to_project", "remove_files_from_project", "delete_projects", "export_project",
    # anything else, confirmed by the user (toolset admin)
    "run_graphql_mutation",
}  # fmt: skip
#: Every lifecycle/admin tool changes Cway except the corrections listing.
LIFECYCLE_WRITES = {
    "start_artworks", "cancel_artworks", "deliver_artworks", "revoke_artwork_delivery", "reject_delivered_artworks",
    "delete_artworks", "rename_artwork", "set_artwork_dates", "change_artwork_category", "assign_artwork_role",
    "remove_artwork_approver", "checkout_artwork", "checkin_artwork", "set_correction_validity",
    "launch_projects", "deliver_project", "set_project_dates", "edit_project", "change_project_orderer",
    "add_files_to_project", "remove_files_from_project", "delete_projects", "export_project", "run_graphql_mutation",
}  # fmt: skip

READ_ONLY = EXPECTED_TOOLS - {
    "close_projects", "reopen_projects", "create_project", "approve_artwork", "reject_artwork",
    "approve_artworks", "reject_artworks", "create_download_job",
    "create_artwork", "assign_users_to_artworks", "update_project_notes", "set_project_manager",
    "remind_approver", "revoke_artwork_decisions", "add_correction", "switch_organisation",
    *LIFECYCLE_WRITES,
}  # fmt: skip
PAGED = {
    "list_projects", "get_project_history", "list_planner_projects", "list_artworks_to_approve",
    "list_artworks_to_upload", "get_artwork_history", "find_users", "find_media_items", "list_shares",
}  # fmt: skip
DESTRUCTIVE = {
    "close_projects", "approve_artwork", "reject_artwork", "approve_artworks", "reject_artworks",
    "revoke_artwork_decisions", "assign_users_to_artworks", "update_project_notes", "set_project_manager",
    # lifecycle: hard to take back, or notifies people outside the conversation
    "cancel_artworks", "deliver_artworks", "revoke_artwork_delivery", "reject_delivered_artworks", "delete_artworks",
    "remove_artwork_approver", "deliver_project", "edit_project", "change_project_orderer",
    "remove_files_from_project", "delete_projects", "run_graphql_mutation",
}  # fmt: skip
#: Tools about this server's configuration rather than an account's data (static tokens).
NO_ACCOUNT = {"switch_organisation"}
#: Reads that still start something new on every call (an AI job: a new thread, a new answer).
READ_ONLY_NOT_IDEMPOTENT = {"analyze_artwork", "summarize_project_history"}

# Media center changes, shares, people and catalogue (issue 19: tools_folders/shares/people/catalogue).
MORE_READ_TOOLS = {
    "list_folder_users", "get_media_artwork", "find_users_and_teams", "list_permission_groups",
    "list_catalogue", "find_articles", "get_print_specification",
}  # fmt: skip
MORE_WRITE_TOOLS = {
    "create_media_folder", "rename_media_folder", "move_media_folder", "copy_media_folder", "delete_media_folder",
    "move_media_items", "copy_media_items", "remove_media_items", "set_folder_user", "remove_folder_user",
    "comment_media_artwork", "share_media", "create_share_link", "remove_shares", "mark_share_read",
    "invite_users", "create_team", "add_team_members", "remove_team_members", "set_permission_group",
    "save_brand_or_market", "save_artwork_category", "save_article", "save_print_specification",
}  # fmt: skip
EXPECTED_TOOLS |= MORE_READ_TOOLS | MORE_WRITE_TOOLS
EXPECTED_TOOLS |= {"upload_file"}  # tested through a spawned shim and serve (tests/shim/test_upload_e2e.py)
READ_ONLY |= MORE_READ_TOOLS
PAGED |= {"find_users_and_teams", "find_articles"}
DESTRUCTIVE |= {"delete_media_folder", "remove_media_items", "remove_shares", "set_permission_group"}


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


async def test_the_cway_schema_is_served_as_a_resource(gateway: StaticTokenGateway) -> None:
    async with connected(gateway) as client:
        resources = (await client.list_resources()).resources
        (schema,) = [r for r in resources if str(r.uri) == "cway://schema.graphql"]
        assert schema.mime_type == "application/graphql"
        read = await client.read_resource("cway://schema.graphql")
    (content,) = read.contents
    assert isinstance(content, TextResourceContents)
    assert content.text == schema_sdl()
    assert "type Query" in content.text
