"""The stories the tools exist for, end to end through MCP against the emulator: per-user data,
decisions that really change Cway, and the refusals that protect it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client

from tests.shim_tools.conftest import ALICE, BOB, DAVE, artwork_id, connected, project_id
from tests.shim_tools.static_gateway import StaticTokenGateway


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def error(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    first = result.content[0]
    assert first.type == "text"
    return first.text


async def test_each_user_sees_only_their_organisations_projects(gateway: StaticTokenGateway) -> None:
    async with connected(gateway) as client:
        alice = await call(client, "list_projects")
        bob = await call(client, "list_projects", username=BOB)
    alice_names = {p["name"] for p in alice["projects"]}
    bob_names = {p["name"] for p in bob["projects"]}
    assert "Spring Campaign 2026" in alice_names and "Fabrikam Label Series" not in alice_names
    assert "Fabrikam Label Series" in bob_names and "Spring Campaign 2026" not in bob_names
    assert alice["total"] == len(alice["projects"]) and alice["has_more"] is False
    assert {c.username for c in gateway.calls} == {ALICE, BOB}


async def test_listing_projects_page_by_page_sees_each_project_once(gateway: StaticTokenGateway) -> None:
    async with connected(gateway) as client:
        first = await call(client, "list_projects", page=1, page_size=1)
        total = first["total"]
        last = await call(client, "list_projects", page=total, page_size=1)
        second = await call(client, "list_projects", page=2, page_size=1)
    assert total >= 3
    assert first["has_more"] is True and first["page"] == 1 and len(first["projects"]) == 1
    assert last["has_more"] is False and len(last["projects"]) == 1
    assert first["projects"][0]["id"] != second["projects"][0]["id"]
    assert gateway.calls[0].variables["paging"] == {"page": 0, "pageSize": 1}  # Cway pages start at 0


async def test_approving_changes_the_state_seen_later(gateway: StaticTokenGateway) -> None:
    poster = artwork_id(1)
    async with connected(gateway) as client:
        before = await call(client, "list_artworks_to_approve")
        assert poster in {a["id"] for a in before["artworks"]}
        decision = await call(client, "approve_artwork", artwork_id=poster)
        after = await call(client, "get_artwork", artwork_id=poster)
        waiting = await call(client, "list_artworks_to_approve")
    assert decision["succeeded"] == 1 and decision["artworks"][0]["state"] == "APPROVED"
    assert after["state"] == "APPROVED"
    assert poster not in {a["id"] for a in waiting["artworks"]}
    assert waiting["total"] == before["total"] - 1


async def test_bob_cannot_approve_alices_artwork(gateway: StaticTokenGateway) -> None:
    poster = artwork_id(1)
    async with connected(gateway) as client:
        message = await error(client, "approve_artwork", artwork_id=poster, username=BOB)
        still = await call(client, "get_artwork", artwork_id=poster)
    assert "not found" in message
    assert still["state"] == "FOR_REVIEW"


async def test_reject_sends_the_comment_as_the_acting_user(gateway: StaticTokenGateway) -> None:
    box = artwork_id(4)
    async with connected(gateway) as client:
        decision = await call(client, "reject_artwork", artwork_id=box, comment="  Logo is too small  ")
        after = await call(client, "get_artwork", artwork_id=box)
    assert decision["comment"] == "Logo is too small"
    assert after["state"] == "REJECTED"
    (reject,) = [c for c in gateway.calls if c.name == "RejectArtwork"]
    assert reject.variables == {"input": {"artworkId": box, "username": ALICE, "comment": "Logo is too small"}}


async def test_bulk_reject_refuses_foreign_artworks_before_changing_anything(gateway: StaticTokenGateway) -> None:
    async with connected(gateway) as client:
        message = await error(
            client,
            "reject_artworks",
            project_id=project_id(1),
            artwork_ids=[artwork_id(1), artwork_id(4)],  # 4 belongs to project 2
            comment="Wrong colours",
        )
        poster = await call(client, "get_artwork", artwork_id=artwork_id(1))
    assert "belongs to project" in message and "nothing was rejected" in message
    assert poster["state"] == "FOR_REVIEW"
    assert not [c for c in gateway.calls if c.name == "RejectArtwork"]


async def test_bad_uuid_is_refused_before_cway(gateway: StaticTokenGateway) -> None:
    async with connected(gateway) as client:
        message = await error(client, "approve_artwork", artwork_id="Poster A2")
    assert "artwork_id must be a UUID" in message and "'Poster A2'" in message
    assert gateway.calls == []


async def test_username_picks_the_account(gateway: StaticTokenGateway) -> None:
    async with connected(gateway) as client:
        dave = await call(client, "list_artworks_to_approve", username=DAVE)
    assert {a["name"] for a in dave["artworks"]} == {"Cereal Box Front"}  # not alice's Poster A2
    assert [c.username for c in gateway.calls] == [DAVE]


async def test_closing_then_reopening_a_project_reports_the_state_cway_has(gateway: StaticTokenGateway) -> None:
    report = project_id(3)
    async with connected(gateway) as client:
        closed = await call(client, "close_projects", project_ids=[report, report.upper()])
        reopened = await call(client, "reopen_projects", project_ids=[report])
    assert closed["projects"] == [{"id": report, "name": "Annual Report 2025", "state": "CLOSED"}]
    assert reopened["projects"][0]["state"] != "CLOSED"


async def test_team_lists_roles(gateway: StaticTokenGateway) -> None:
    async with connected(gateway) as client:
        team = await call(client, "get_project_team", project_id=project_id(1))
    members = {m["username"]: m for m in team["members"]}
    assert team["project_manager"]["username"] == DAVE
    assert set(members[ALICE]["roles"]) == {"approver", "supplier"}
    assert "Poster A2" in members[ALICE]["artworks"]


async def test_graphql_query_long_tail(gateway: StaticTokenGateway) -> None:
    text = "query A { tree { id } } query P($id: UUID!) { project(id: $id) { name orderNo } }"
    async with connected(gateway) as client:
        ok = await call(client, "graphql_query", query=text, variables={"id": project_id(1)}, operation_name="P")
        wrong_field = await error(client, "graphql_query", query='query { project(id: "x") { members { id } } }')
        too_deep = await error(client, "graphql_query", query="query { __schema { types { fields { type { ofType "
                               "{ ofType { ofType { ofType { name } } } } } } } } }")  # fmt: skip
    assert ok == {"operation_name": "P", "data": {"project": {"name": "Spring Campaign 2026", "orderNo": "CO-1001"}}}
    assert "Cannot query field 'members' on type 'Project'" in wrong_field
    assert "levels deep" in too_deep
    assert [c.name for c in gateway.calls] == ["P"]  # the refused queries never reached Cway


async def test_graphql_query_caps_the_answer(gateway: StaticTokenGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    from cway_tools.tools import query as tools_query

    monkeypatch.setattr(tools_query, "MAX_RESULT_CHARS", 200)
    async with connected(gateway) as client:
        message = await error(client, "graphql_query", query="query { projects { projects { id name description } } }")
    assert "over the 200 limit" in message and "Select fewer fields" in message


async def test_a_bulk_decision_where_nothing_succeeded_is_an_error_with_the_reasons(
    gateway: StaticTokenGateway,
) -> None:
    async with connected(gateway) as client:
        await call(client, "approve_artwork", artwork_id=artwork_id(1))
        again = await client.call_tool(
            "approve_artworks", {"project_id": project_id(1), "artwork_ids": [artwork_id(1)]}
        )
        rejected = await client.call_tool(
            "reject_artworks", {"project_id": project_id(1), "artwork_ids": [artwork_id(1)], "comment": "Too late"}
        )
    # Approving again is a no-op success (the tool is annotated idempotent); rejecting is not.
    assert not again.is_error and again.structured_content is not None
    assert again.structured_content["artworks"][0]["unchanged"] is True
    # Rejections go one by one (to carry the comment): the answer lists each artwork's reason.
    assert rejected.is_error  # the SDK drops structured content from errors; the text carries it
    first = rejected.content[0]
    assert first.type == "text"
    detail = json.loads(first.text)
    assert detail["succeeded"] == 0 and detail["failed"] == 1
    assert "is APPROVED" in detail["artworks"][0]["error"]
