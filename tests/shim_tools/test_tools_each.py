"""Every tool, once down its happy path and once down an error path, through a real MCPServer
against the emulator. Happy answers must match the tool's published output schema; input
errors must be clear and must not reach Cway."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from cway_tools.documents import ALL_DOCUMENTS
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
    uid,
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
    "list_organisations": ({"username": NOBODY}, "refused", True),
    "get_system_status": ({}, "needs Cway system-admin rights", True),
    "get_statistics": ({"username": NOBODY}, "refused", True),
    "find_users": ({"page_size": 0}, "greater than or equal to 1", False),
    "get_user": ({"user": "nobody@nowhere.example"}, "No Cway user", True),
    "list_media_folders": ({"username": NOBODY}, "refused", True),
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

# Media center changes, shares, people and catalogue (issue 19).
ERIN = "erin@contoso.example"
TEAM, MC_POSTER, BRAND, PRINT_SPEC = uid(0x1D, 1), uid(0x1B, 1), uid(0x2C, 1), uid(0x3A, 1)
HAPPY.update(
    {
        "create_media_folder": ({"name": "Print PDFs", "parent_folder_id": folder_id(1)}, '"name":"Print PDFs"'),
        "rename_media_folder": ({"folder_id": folder_id(2), "name": "Logotypes", "username": ADMIN}, "Logotypes"),
        "move_media_folder": (
            {"folder_id": folder_id(2), "target_folder_id": folder_id(1), "position": "after", "username": ADMIN},
            '"name":"Logos"',
        ),
        "copy_media_folder": ({"folder_id": folder_id(2), "target_folder_id": folder_id(1)}, "Contoso Assets"),
        "delete_media_folder": ({"folder_id": folder_id(2), "username": ADMIN}, '"name":"Logos"'),
        "move_media_items": (
            {"source_folder_id": folder_id(2), "target_folder_id": folder_id(1), "item_ids": [file_id(1)]},
            file_id(1),
        ),
        "copy_media_items": (
            {"source_folder_id": folder_id(2), "target_folder_id": folder_id(1), "item_ids": [file_id(1)]},
            file_id(1),
        ),
        "remove_media_items": ({"folder_id": folder_id(2), "item_ids": [file_id(1)]}, file_id(1)),
        "list_folder_users": ({"folder_id": folder_id(1)}, DAVE),
        "set_folder_user": (
            {"folder_id": folder_id(1), "user": DAVE, "manage": True, "username": ADMIN},
            '"username":"dave@contoso.example","name":"Dave Dahl","rights":{"write":false,"manage":true',
        ),
        "remove_folder_user": ({"folder_id": folder_id(1), "user": DAVE, "username": ADMIN}, ERIN),
        "get_media_artwork": ({"artwork_id": MC_POSTER}, "Spring Poster Master"),
        "comment_media_artwork": ({"artwork_id": MC_POSTER, "text": "Use the new logo"}, '"text":"Use the new logo"'),
        "share_media": (
            {"title": "Logo", "emails": "print@printer.example", "file_ids": [file_id(1)]},
            '"recipients":["print@printer.example"]',
        ),
        "create_share_link": ({"title": "Logo link", "file_ids": [file_id(1)]}, '"valid_until"'),
        "remove_shares": ({"share_ids": [share_id(1)]}, share_id(1)),
        "mark_share_read": ({"share_id": share_id(2)}, '"read":true'),
        "find_users_and_teams": ({"search": "packaging"}, "Packaging approvers"),
        "invite_users": ({"emails": "new@printer.example", "username": ADMIN}, "new@printer.example"),
        "create_team": ({"name": "Label team", "username": ADMIN}, '"name":"Label team"'),
        "add_team_members": ({"team_id": TEAM, "usernames": [ERIN]}, ERIN),
        "remove_team_members": (
            {"team_id": TEAM, "usernames": [DAVE]},
            '"members":[{"username":"alice@contoso.example","admin":true}]',
        ),
        "list_permission_groups": ({}, "Administrator"),
        "set_permission_group": (
            {"usernames": [DAVE], "permission_group_id": uid(0x1E, 1), "username": ADMIN},
            '"usernames":["dave@contoso.example"]',
        ),
        "list_catalogue": ({"kind": "brands"}, "Contoso Crunch"),
        "find_articles": ({"gtin": "7310865004703"}, "CC-375"),
        "save_brand_or_market": ({"kind": "market", "name": "Baltics", "username": ADMIN}, "Baltics"),
        "save_artwork_category": (
            {"name": "Labels", "description": "Bottle labels", "username": ADMIN},
            '"description":"Bottle labels"',
        ),
        "save_article": (
            {"article_no": "CC-500", "name": "Crunch 500 g", "brand_id": BRAND, "username": ADMIN},
            '"brand":{"id":"0000002c-0000-4000-8000-000000000001","name":"Contoso Crunch"}',
        ),
        "get_print_specification": ({"print_specification_id": PRINT_SPEC}, "GC1 350 g"),
        "save_print_specification": (
            {
                "name": "Label, flexo",
                "packaging": {"packaging_item": "Label", "substrate": "PP", "substrate_color": "Clear"},
            },
            '"substrate":"PP"',
        ),
    }
)
ERRORS.update(
    {
        "create_media_folder": ({"name": " "}, "name must not be empty", False),
        "rename_media_folder": ({"folder_id": folder_id(2), "name": "X"}, "no manage permission", True),
        "move_media_folder": ({"folder_id": "logos", "target_folder_id": folder_id(1)}, "must be a UUID", False),
        "copy_media_folder": ({"folder_id": folder_id(3), "target_folder_id": folder_id(1)}, "not found", True),
        "delete_media_folder": ({"folder_id": folder_id(3)}, "not found", True),
        "move_media_items": (
            {"source_folder_id": folder_id(2), "target_folder_id": folder_id(1), "item_ids": []},
            "at least one id",
            False,
        ),
        "copy_media_items": (
            {"source_folder_id": folder_id(2), "target_folder_id": folder_id(1), "item_ids": ["x"]},
            "item_ids must be a UUID",
            False,
        ),
        "remove_media_items": (
            {"folder_id": folder_id(2), "item_ids": [file_id(1)], "username": BOB},
            "not found",
            True,
        ),
        "list_folder_users": ({"folder_id": folder_id(3)}, "not found", True),
        "set_folder_user": ({"folder_id": folder_id(1), "user": BOB, "manage": True}, "No Cway user", True),
        "remove_folder_user": ({"folder_id": "x", "user": DAVE}, "folder_id must be a UUID", False),
        "get_media_artwork": ({"artwork_id": MC_POSTER, "username": BOB}, "not found", True),
        "comment_media_artwork": ({"artwork_id": MC_POSTER, "text": " "}, "text must not be empty", False),
        "share_media": ({"title": "x", "emails": "a@b.example"}, "at least one file id", False),
        "create_share_link": ({"title": "x", "file_ids": [file_id(3)]}, "not found", True),
        "remove_shares": ({"share_ids": [share_id(2)]}, "only the sender", True),
        "mark_share_read": ({"share_id": share_id(1)}, "only the recipient", True),
        "find_users_and_teams": ({"page_size": 0}, "greater than or equal to 1", False),
        "invite_users": ({"emails": "x@printer.example"}, "Access denied", True),
        "create_team": ({"name": "Team"}, "Access denied", True),
        "add_team_members": ({"team_id": TEAM, "usernames": []}, "at least one username", False),
        "remove_team_members": ({"team_id": "t", "usernames": [DAVE]}, "team_id must be a UUID", False),
        "list_permission_groups": ({"username": NOBODY}, "refused", True),
        "set_permission_group": ({"usernames": [DAVE], "permission_group_id": uid(0x1E, 9)}, "does not exist", True),
        "list_catalogue": ({"kind": "colours"}, "brands", False),
        "find_articles": ({"brand_id": "crunch"}, "brand_id must be a UUID", False),
        "save_brand_or_market": ({"kind": "brand", "name": "X"}, "Access denied", True),
        "save_artwork_category": ({"name": "Print", "username": ADMIN}, "already exists", True),
        "save_article": ({"name": "no number"}, "article_no must not be empty", False),
        "get_print_specification": ({"print_specification_id": uid(0x3A, 9)}, "not found", True),
        "save_print_specification": (
            {"name": "Mine", "print_specification_id": PRINT_SPEC},
            "only the author",
            True,
        ),
    }
)

#: Tools whose happy path needs an earlier call's state; their own tests cover it (test_long_jobs.py).
STATEFUL = {"get_pending_result", "switch_organisation"}  # switch: test_organisations.py (static mode)

# --- issue 19: artwork lifecycle, project administration, generic mutation (one case each) -----
_ERIN = "erin@contoso.example"
_ALICE = "alice@contoso.example"
_P1, _P2, _P3 = project_id(1), project_id(2), project_id(3)
HAPPY.update({
    "start_artworks": ({"project_id": _P1, "artwork_ids": [artwork_id(3)], "username": DAVE}, '"state":"FOR_REVIEW"'),
    "cancel_artworks": ({"project_id": _P1, "artwork_ids": [artwork_id(3)], "username": DAVE}, '"state":"CANCELED"'),
    "deliver_artworks": ({"project_id": _P3, "artwork_ids": [artwork_id(6)]}, '"unchanged":true'),  # already delivered
    "revoke_artwork_delivery": ({"project_id": _P3, "artwork_ids": [artwork_id(6)]}, '"state":"BUNDLED"'),
    "reject_delivered_artworks": ({"project_id": _P3, "artwork_ids": [artwork_id(6)]}, '"state":"REJECTED"'),
    "delete_artworks": ({"project_id": _P1, "artwork_ids": [artwork_id(3)], "username": DAVE}, '"state":"DELETED"'),
    "rename_artwork": ({"artwork_id": artwork_id(1), "name": "Poster A2 v2", "username": DAVE}, "Poster A2 v2"),
    "set_artwork_dates": (
        {"project_id": _P1, "artwork_ids": [artwork_id(1)], "end_date": "2026-04-01", "username": DAVE}, "2026-04-01",
    ),
    "change_artwork_category": (
        {"project_id": _P1, "artwork_ids": [artwork_id(1)], "category": "print", "username": DAVE}, '"category":"Print"',
    ),
    "assign_artwork_role": ({"artwork_id": artwork_id(1), "user": _ERIN, "role": "receiver", "username": DAVE}, _ERIN),
    "remove_artwork_approver": (
        {"artwork_id": artwork_id(4), "user": _ALICE, "username": DAVE}, '"approvers":[{"username":"dave@',
    ),
    "checkout_artwork": ({"artwork_id": artwork_id(5)}, '"checked_out":true'),
    "list_artwork_corrections": ({"artwork_id": artwork_id(1)}, '"corrections":[]'),
    "launch_projects": ({"project_ids": [project_id(6)], "username": BOB}, '"state":"IN_PROGRESS"'),
    "deliver_project": ({"project_id": _P3}, '"unchanged":true'),  # the annual report is delivered already
    "set_project_dates": ({"project_id": _P1, "end_date": "2026-05-31", "username": DAVE}, '"end_date":"2026-05-31"'),
    "edit_project": ({"project_id": _P2, "name": "Packaging 2026", "username": DAVE}, '"name":"Packaging 2026"'),
    "change_project_orderer": ({"project_id": _P2, "user": _ALICE, "username": DAVE}, '"orderer":{"username":"alice@'),
    "add_files_to_project": ({"project_id": _P2, "file_ids": [file_id(1)], "username": DAVE}, "contoso-logo.svg"),
    "remove_files_from_project": ({"project_id": _P2, "file_ids": [file_id(1)], "username": DAVE}, '"unchanged":true'),
    "delete_projects": ({"project_ids": [project_id(4)], "username": DAVE}, '"state":"DELETED"'),
    "export_project": ({"project_id": _P1}, '"file_id":'),
})  # fmt: skip
ERRORS.update({
    "start_artworks": ({"project_id": _P1, "artwork_ids": []}, "at least 1", False),
    "cancel_artworks": ({"project_id": "x", "artwork_ids": [artwork_id(3)]}, "project_id must be a UUID", False),
    "deliver_artworks": ({"project_id": _P1, "artwork_ids": [artwork_id(4)]}, "is not in project", True),
    "revoke_artwork_delivery": ({"project_id": _P1, "artwork_ids": [artwork_id(1)]}, "applies to DELIVERED", True),
    "reject_delivered_artworks": ({"project_id": project_id(5), "artwork_ids": [artwork_id(7)]}, "not found", True),
    "delete_artworks": (
        {"project_id": _P1, "artwork_ids": [artwork_id(1)], "username": DAVE}, "only UNSTARTED or CANCELED", True,
    ),
    "rename_artwork": ({"artwork_id": artwork_id(1), "name": "  "}, "name must not be empty", False),
    "set_artwork_dates": ({"project_id": _P1, "artwork_ids": [artwork_id(1)]}, "Give start_date, end_date", False),
    "change_artwork_category": (
        {"project_id": _P1, "artwork_ids": [artwork_id(1)], "category": "Video"}, "categories are: Print", True,
    ),
    "assign_artwork_role": (
        {"artwork_id": artwork_id(1), "user": "nobody@nowhere.example", "role": "approver", "username": DAVE},
        "User nobody@nowhere.example not found", True,
    ),
    "remove_artwork_approver": ({"artwork_id": "x", "user": _ALICE}, "artwork_id must be a UUID", False),
    "checkout_artwork": ({"artwork_id": artwork_id(1), "username": DAVE}, "no new revision can be made now", True),
    "checkin_artwork": ({"artwork_id": artwork_id(5)}, "Give at least one file", False),
    "list_artwork_corrections": ({"artwork_id": "x"}, "artwork_id must be a UUID", False),
    "set_correction_validity": (
        {"artwork_id": artwork_id(1), "correction_id": "c", "valid": False}, "correction_id must be a UUID", False,
    ),
    "launch_projects": ({"project_ids": [project_id(4)], "username": DAVE}, "is CLOSED; nothing was launched", True),
    "deliver_project": ({"project_id": _P1, "username": DAVE}, "still has artworks to deliver", True),
    "set_project_dates": ({"project_id": _P1}, "Give start_date, end_date or both", False),
    "edit_project": ({"project_id": _P2}, "Give at least one of", False),
    "change_project_orderer": (
        {"project_id": _P2, "user": "nobody@nowhere.example", "username": DAVE}, "No Cway user", True,
    ),
    "add_files_to_project": ({"project_id": _P2, "file_ids": ["f"]}, "file_ids must be a UUID", False),
    "remove_files_from_project": ({"project_id": _P2, "file_ids": []}, "at least 1", False),
    "delete_projects": ({"project_ids": [_P2], "username": DAVE}, "close it first or pass force", True),
    "export_project": ({"project_id": project_id(5)}, "not found", True),
    "run_graphql_mutation": (
        {"mutation": "mutation { launchProjects(projectIds: []) }"}, "needs a client that can ask the user", False,
    ),
})  # fmt: skip
#: Need an earlier call's state (a checkout, a correction) or a client that asks (test_generic_mutation.py);
#: test_lifecycle_tools.py covers their happy paths.
STATEFUL |= {"checkin_artwork", "set_correction_validity", "run_graphql_mutation"}
# upload_file needs the real gateway's presigned PUT: its happy path runs through a spawned shim and
# through serve (tests/shim/test_upload_e2e.py, tests/remote/test_upload_remote.py).
STATEFUL |= {"upload_file"}
ERRORS["upload_file"] = (
    {"attach_to": "new_revision", "path": "/tmp/x.pdf", "artwork_id": "x"}, "artwork_id must be a UUID", False,
)  # fmt: skip


def test_every_listed_tool_has_a_happy_and_an_error_case() -> None:
    assert set(HAPPY) == EXPECTED_TOOLS - STATEFUL
    assert set(ERRORS) == EXPECTED_TOOLS


@pytest.mark.parametrize("tool", sorted(HAPPY))
async def test_each_tool_answers_its_typical_call_with_a_result_matching_its_output_schema(
    tool: str, gateway: StaticTokenGateway
) -> None:
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
async def test_each_tool_refuses_bad_input_in_words_and_only_reaches_cway_when_it_must(
    tool: str, gateway: StaticTokenGateway
) -> None:
    arguments, needle, may_call_cway = ERRORS[tool]
    async with connected(gateway) as client:
        result = await client.call_tool(tool, arguments)
    text = result.content[0].text if result.content and result.content[0].type == "text" else ""
    assert result.is_error, text
    assert needle in text
    if not may_call_cway:
        assert gateway.calls == [], "invalid input reached Cway"
