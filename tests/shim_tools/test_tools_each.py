"""Every tool, once down its happy path and once down an error path, through a real MCPServer
against the emulator. Happy answers must match the tool's published output schema; input
errors must be clear and must not reach Cway."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from cway_mcp_shim.documents import ALL_DOCUMENTS
from tests.shim_tools.conftest import (
    ADMIN,
    BOB,
    DAVE,
    artwork_id,
    connected,
    file_id,
    folder_id,
    project_id,
    share_id,
)
from tests.shim_tools.static_gateway import StaticTokenGateway
from tests.shim_tools.test_tools_listing import EXPECTED_TOOLS

NOBODY = "nobody@contoso.example"

# tool -> (arguments, a string the JSON answer must contain)
HAPPY: dict[str, tuple[dict[str, Any], str]] = {
    "list_projects": ({"states": ["IN_PROGRESS"]}, "Spring Campaign 2026"),
    "get_project": ({"project_id": project_id(1)}, "Poster A2"),
    "get_project_team": ({"project_id": project_id(1)}, DAVE),
    "get_project_history": ({"project_id": project_id(1)}, "PROJECT_CREATED"),
    "summarize_project": ({"project_id": project_id(1), "audience": "ORDERER"}, "Spring Campaign 2026"),
    "list_planner_projects": ({"states": ["IN_PROGRESS"]}, "Packaging Redesign"),
    "close_projects": ({"project_ids": [project_id(3)]}, '"state":"CLOSED"'),
    "reopen_projects": ({"project_ids": [project_id(4)], "username": DAVE}, '"accepted":true'),  # dave's project
    "create_project": ({"name": "Autumn Flyers", "end_date": "2026-10-31"}, "Autumn Flyers"),
    "list_artworks_to_approve": ({}, "Poster A2"),
    "list_artworks_to_upload": ({}, "Web Banner"),
    "get_artwork": ({"artwork_id": artwork_id(1)}, "Spring Campaign 2026"),
    "get_artwork_history": ({"artwork_id": artwork_id(1)}, "ARTWORK_CREATED"),
    "review_artwork": ({"artwork_id": artwork_id(1)}, "Approvers: Alice Andersson"),
    "approve_artwork": ({"artwork_id": artwork_id(1)}, '"state":"APPROVED"'),
    "reject_artwork": ({"artwork_id": artwork_id(4), "comment": "Logo too small"}, '"state":"REJECTED"'),
    "approve_artworks": ({"project_id": project_id(1), "artwork_ids": [artwork_id(1)]}, '"succeeded":1'),
    "reject_artworks": (
        {"project_id": project_id(1), "artwork_ids": [artwork_id(1)], "comment": "Wrong colours"},
        '"state":"REJECTED"',
    ),
    "analyze_artwork": ({"artwork_id": artwork_id(1)}, "Poster A2"),
    "summarize_project_history": ({"project_id": project_id(1)}, "Spring Campaign 2026"),
    "list_organisations": ({}, "Contoso Print"),
    "get_statistics": ({}, "approved_artworks"),
    "get_system_status": ({"username": ADMIN}, "renderer-1"),
    "find_users": ({"search": "dave"}, DAVE),
    "get_user": ({"user": DAVE}, "Dahl"),
    "list_media_folders": ({}, "Logos"),
    "get_media_folder": ({"folder_id": folder_id(1)}, "Contoso Assets"),
    "find_media_items": ({"folder_id": folder_id(1), "search": "logo"}, "contoso-logo.svg"),
    "list_shares": ({}, "Brand guide"),
    "get_share": ({"share_id": share_id(1)}, "Logo pack for printer"),
    "get_file_download_url": ({"file_id": file_id(1)}, "http"),
    "create_download_job": ({"files": [{"file_id": file_id(1), "name": "logo.svg"}]}, '"status":"COMPLETED"'),
    "graphql_query": ({"query": "query Me { loginInfo { user { username } } }"}, "alice@contoso.example"),
    "remind_approver": ({"artwork_id": artwork_id(1), "username": DAVE}, '"reminded":["alice@contoso.example"]'),
    "revoke_artwork_decisions": ({"project_id": project_id(1), "artwork_ids": [artwork_id(2)]}, '"state":"FOR_REVIEW"'),
    "add_correction": ({"artwork_id": artwork_id(1), "text": "Bigger logo"}, '"state":"COMMENTED"'),
    "create_artwork": ({"project_id": project_id(1), "name": "Poster A1"}, '"name":"Poster A1"'),
    "assign_users_to_artworks": (
        {
            "project_id": project_id(1),
            "artwork_ids": [artwork_id(3)],
            "assignments": [{"user": DAVE, "receiver": "assign"}],
        },
        '"receivers":[{"username":"dave@contoso.example"',
    ),
    "update_project_notes": ({"project_id": project_id(1), "notes": "Files by Friday"}, "Files by Friday"),
    "set_project_manager": ({"project_id": project_id(1), "user": "alice@contoso.example"}, "alice@contoso.example"),
}

# tool -> (arguments, a string the error must contain, whether Cway may be called)
ERRORS: dict[str, tuple[dict[str, Any], str, bool]] = {
    "list_projects": ({"states": ["OPEN"]}, "IN_PROGRESS", False),
    "get_project": ({"project_id": "spring"}, "project_id must be a UUID", False),
    "get_project_team": ({"project_id": project_id(5)}, "not found", True),
    "get_project_history": ({"project_id": "123"}, "project_id must be a UUID", False),
    "summarize_project": ({"project_id": project_id(1), "audience": "CEO"}, "ORDERER", False),
    "list_planner_projects": ({"page_size": 101}, "less than or equal to 100", False),
    "close_projects": ({"project_ids": []}, "at least 1", False),
    "reopen_projects": ({"project_ids": ["x"]}, "project_ids must be a UUID", False),
    "create_project": ({"name": "X", "start_date": "2026-05-01", "end_date": "2026-04-01"}, "before", False),
    "list_artworks_to_approve": ({"project_id": "p1"}, "project_id must be a UUID", False),
    "list_artworks_to_upload": ({"page": 0}, "greater than or equal to 1", False),
    "get_artwork": ({"artwork_id": artwork_id(7)}, "not found", True),
    "get_artwork_history": ({"artwork_id": "poster"}, "artwork_id must be a UUID", False),
    "review_artwork": ({"artwork_id": "poster"}, "artwork_id must be a UUID", False),
    "approve_artwork": ({"artwork_id": artwork_id(1), "username": BOB}, "Cway reported an error", True),
    "reject_artwork": ({"artwork_id": artwork_id(1), "comment": "   "}, "comment must not be empty", False),
    "approve_artworks": ({"project_id": project_id(1), "artwork_ids": [artwork_id(4)]}, "does not belong", True),
    "reject_artworks": (
        {"project_id": project_id(2), "artwork_ids": [artwork_id(1)], "comment": "No"},
        "belongs to project",
        True,
    ),
    "analyze_artwork": ({"artwork_id": artwork_id(7)}, "not found", True),
    "summarize_project_history": ({"project_id": "spring"}, "project_id must be a UUID", False),
    "list_organisations": ({"username": NOBODY}, "No Cway account", True),
    "get_system_status": ({}, "needs Cway system-admin rights", True),
    "get_statistics": ({"username": NOBODY}, "No Cway account", True),
    "find_users": ({"page_size": 0}, "greater than or equal to 1", False),
    "get_user": ({"user": "nobody@nowhere.example"}, "No Cway user", True),
    "list_media_folders": ({"username": NOBODY}, "No Cway account", True),
    "get_media_folder": ({"folder_id": "logos"}, "folder_id must be a UUID", False),
    "find_media_items": ({"folder_id": folder_id(1), "sort": "SIZE"}, "NAME", False),
    "list_shares": ({"page_size": 500}, "less than or equal to 100", False),
    "get_share": ({"share_id": share_id(3)}, "not found", True),
    "get_file_download_url": ({"file_id": "logo"}, "file_id must be a UUID", False),
    "create_download_job": ({"files": [{"file_id": "nope", "name": "x"}]}, "must be a UUID", False),
    "graphql_query": ({"query": "mutation { reopenProjects(projectIds: []) }"}, "read-only", False),
    "get_pending_result": ({"handle": "thread_emu_1"}, "is not one this server gave out", False),
    "remind_approver": ({"artwork_id": artwork_id(4)}, "Access denied", True),
    "revoke_artwork_decisions": ({"project_id": project_id(1), "artwork_ids": []}, "at least 1", False),
    "add_correction": ({"artwork_id": artwork_id(1), "text": "   "}, "text must not be empty", False),
    "create_artwork": ({"project_id": project_id(1), "name": "X", "category": "Video"}, "categories are: Print", True),
    "assign_users_to_artworks": (
        {"project_id": project_id(1), "artwork_ids": [artwork_id(3)], "assignments": [{"user": DAVE}]},
        "nothing to change",
        False,
    ),
    "update_project_notes": ({"project_id": "spring", "notes": "x"}, "project_id must be a UUID", False),
    "set_project_manager": ({"project_id": project_id(1), "user": BOB}, "No Cway user", True),
    "switch_organisation": ({"organisation": "fabrikam"}, "per-organisation API tokens", False),
}

#: Tools whose happy path needs an earlier call's state; their own tests cover it (test_long_jobs.py).
STATEFUL = {"get_pending_result", "switch_organisation"}  # switch: test_organisations.py (static mode)


def test_every_tool_has_cases() -> None:
    assert set(HAPPY) == EXPECTED_TOOLS - STATEFUL
    assert set(ERRORS) == EXPECTED_TOOLS


@pytest.mark.parametrize("tool", sorted(HAPPY))
async def test_happy_path(tool: str, gateway: StaticTokenGateway) -> None:
    arguments, needle = HAPPY[tool]
    async with connected(gateway) as client:
        schema = {t.name: t.output_schema for t in (await client.list_tools()).tools}[tool]
        result = await client.call_tool(tool, arguments)
    text = result.content[0].text if result.content and result.content[0].type == "text" else ""
    assert not result.is_error, text
    assert needle in text
    assert result.structured_content is not None
    jsonschema.validate(result.structured_content, schema or {})
    assert "null" not in text  # compact: nulls are left out of the text block
    registered = [id(d) for d in ALL_DOCUMENTS.values()]
    assert gateway.calls, "the tool never called Cway"
    for call in gateway.calls:
        assert call.document is None or id(call.document) in registered, call.name


@pytest.mark.parametrize("tool", sorted(ERRORS))
async def test_error_path(tool: str, gateway: StaticTokenGateway) -> None:
    arguments, needle, may_call_cway = ERRORS[tool]
    async with connected(gateway) as client:
        result = await client.call_tool(tool, arguments)
    text = result.content[0].text if result.content and result.content[0].type == "text" else ""
    assert result.is_error, text
    assert needle in text
    if not may_call_cway:
        assert gateway.calls == [], "invalid input reached Cway"
