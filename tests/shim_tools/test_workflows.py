"""The approver's and project manager's workflows against the emulator, with per-user data and
permissions: reminders, revoking decisions, corrections, new artworks, assignments, notes and
the project manager. Each as the right person, as the wrong person, and across organisations."""

from __future__ import annotations

from typing import Any

from mcp.types import CallToolResult, TextContent

from cway_emulator import EmulatorServer
from tests.shim_tools.conftest import ALICE, BOB, DAVE, artwork_id, connected, project_id
from tests.shim_tools.static_gateway import StaticTokenGateway

FABRIKAM_USER = "bob@contoso.example"  # despite the domain, bob works for Fabrikam in the seed


def text(result: CallToolResult) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, TextContent))


async def run(gateway: StaticTokenGateway, tool: str, **arguments: Any) -> CallToolResult:
    async with connected(gateway) as client:
        return await client.call_tool(tool, arguments)


async def ok(gateway: StaticTokenGateway, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await run(gateway, tool, **arguments)
    assert not result.is_error, text(result)
    assert result.structured_content is not None
    return result.structured_content


async def fails(gateway: StaticTokenGateway, tool: str, **arguments: Any) -> str:
    result = await run(gateway, tool, **arguments)
    assert result.is_error, text(result)
    return text(result)


def sent(gateway: StaticTokenGateway) -> list[str | None]:
    return [c.name for c in gateway.calls if c.document is not None and c.document.kind == "mutation"]


# --- reminders ---------------------------------------------------------------------------------


async def test_the_project_manager_reminds_the_approver(gateway: StaticTokenGateway, emulator: EmulatorServer) -> None:
    out = await ok(gateway, "remind_approver", artwork_id=artwork_id(1), username=DAVE)  # dave manages project 1
    assert out["reminded"] == [ALICE] and out["state"] == "FOR_REVIEW"
    (reminder,) = emulator.emulator.store.reminders
    assert reminder["username"] == ALICE and reminder["by"] == DAVE


async def test_reminders_are_refused_to_others_and_for_non_approvers(gateway: StaticTokenGateway) -> None:
    # alice approves artwork 4 but neither orders nor manages project 2: Cway refuses her reminder.
    assert "Access denied" in await fails(gateway, "remind_approver", artwork_id=artwork_id(4))
    gateway.calls.clear()
    message = await fails(gateway, "remind_approver", artwork_id=artwork_id(1), approver=DAVE, username=DAVE)
    assert message.endswith(f"{DAVE} is not an approver of Poster A2; its approvers are: {ALICE}.")
    assert sent(gateway) == []  # checked before anything was sent
    assert "not waiting for a decision" in await fails(gateway, "remind_approver", artwork_id=artwork_id(2))
    assert "not found" in await fails(gateway, "remind_approver", artwork_id=artwork_id(1), username=FABRIKAM_USER)


# --- revoking a decision -----------------------------------------------------------------------


async def test_an_approval_is_revoked_back_to_review(gateway: StaticTokenGateway) -> None:
    out = await ok(
        gateway, "revoke_artwork_decisions", project_id=project_id(1), artwork_ids=[artwork_id(2)]
    )  # Flyer A5, approved in the seed; alice is its approver
    assert out["accepted"] is True and out["confirmed_by_user"] is False  # this client cannot show a form
    (row,) = out["artworks"]
    assert row["was"] == "APPROVED" and row["state"] == "FOR_REVIEW"


async def test_revoking_is_checked_first_and_isolated(gateway: StaticTokenGateway) -> None:
    message = await fails(
        gateway, "revoke_artwork_decisions", project_id=project_id(1), artwork_ids=[artwork_id(2), artwork_id(1)]
    )
    assert "Poster A2 is FOR_REVIEW: there is no approval or rejection to revoke" in message
    assert sent(gateway) == []
    assert "another project" in await fails(
        gateway, "revoke_artwork_decisions", project_id=project_id(2), artwork_ids=[artwork_id(2)]
    )
    assert "not found" in await fails(
        gateway, "revoke_artwork_decisions", project_id=project_id(5), artwork_ids=[artwork_id(7)], username=ALICE
    )
    # Cway's own rule: bob (Fabrikam) cannot reach Contoso's artwork at all.
    assert "not found" in await fails(
        gateway,
        "revoke_artwork_decisions",
        project_id=project_id(1),
        artwork_ids=[artwork_id(2)],
        username=FABRIKAM_USER,
    )


# --- corrections -------------------------------------------------------------------------------


async def test_a_correction_is_added_without_rejecting(gateway: StaticTokenGateway, emulator: EmulatorServer) -> None:
    out = await ok(gateway, "add_correction", artwork_id=artwork_id(1), text="Make the logo 20% bigger")
    assert out["state"] == "COMMENTED" and out["text"] == "Make the logo 20% bigger"
    history = await ok(gateway, "get_artwork_history", artwork_id=artwork_id(1))
    assert "Make the logo 20% bigger" in history["events"][0]["description"]
    assert "corrections are added during review" in await fails(
        gateway, "add_correction", artwork_id=artwork_id(3), text="x"
    )
    assert "not found" in await fails(
        gateway, "add_correction", artwork_id=artwork_id(1), text="x", username=FABRIKAM_USER
    )


# --- artworks and assignments ------------------------------------------------------------------


async def test_create_an_artwork_and_assign_people(gateway: StaticTokenGateway) -> None:
    created = await ok(
        gateway, "create_artwork", project_id=project_id(1), name="Poster A1", category="print", end_date="2026-04-01"
    )  # alice orders project 1
    new = created["artwork"]
    assert created["created"] is True and new["name"] == "Poster A1" and new["state"] == "UNSTARTED"
    assert new["category"] == "Print" and new["approvers"] == []
    assigned = await ok(
        gateway,
        "assign_users_to_artworks",
        project_id=project_id(1),
        artwork_ids=[new["id"], artwork_id(3)],
        assignments=[{"user": DAVE, "approver": "assign"}, {"user": ALICE, "supplier": "assign", "receiver": "assign"}],
    )
    rows = {r["id"]: r for r in assigned["artworks"]}
    assert [p["username"] for p in rows[new["id"]]["approvers"]] == [DAVE]
    assert [p["username"] for p in rows[new["id"]]["receivers"]] == [ALICE]
    assert ALICE in [p["username"] for p in rows[artwork_id(3)]["suppliers"]]
    team = await ok(gateway, "get_project_team", project_id=project_id(1))
    assert "receiver" in {m["username"]: m for m in team["members"]}[ALICE]["roles"]


async def test_creating_an_artwork_is_refused_with_the_reason_for_a_bad_category_project_or_role(
    gateway: StaticTokenGateway,
) -> None:
    message = await fails(gateway, "create_artwork", project_id=project_id(1), name="X", category="Video")
    assert message.endswith("No artwork category 'Video' in this organisation; its categories are: Print.")
    # dave neither orders nor manages project 3; project 4 is closed; project 5 is Fabrikam's.
    assert "Access denied" in await fails(gateway, "create_artwork", project_id=project_id(3), name="X", username=DAVE)
    assert "closed" in await fails(gateway, "create_artwork", project_id=project_id(4), name="X", username=DAVE)
    assert "not found" in await fails(gateway, "create_artwork", project_id=project_id(5), name="X")
    assert "No Cway user 'bob@contoso.example'" in await fails(
        gateway,
        "assign_users_to_artworks",
        project_id=project_id(1),
        artwork_ids=[artwork_id(3)],
        assignments=[{"user": FABRIKAM_USER, "approver": "assign"}],
    )
    assert "not in project" in await fails(
        gateway,
        "assign_users_to_artworks",
        project_id=project_id(1),
        artwork_ids=[artwork_id(4)],
        assignments=[{"user": DAVE, "approver": "assign"}],
    )


# --- notes and the project manager -------------------------------------------------------------


async def test_notes_append_then_replace(gateway: StaticTokenGateway) -> None:
    first = await ok(gateway, "update_project_notes", project_id=project_id(1), notes="Printer needs files by Friday")
    second = await ok(gateway, "update_project_notes", project_id=project_id(1), notes="Proofs approved")
    assert first["notes"] == "Printer needs files by Friday"
    assert second["notes"] == "Printer needs files by Friday\nProofs approved"
    replaced = await ok(gateway, "update_project_notes", project_id=project_id(1), notes="Fresh start", append=False)
    assert replaced["notes"] == "Fresh start"
    project = await ok(gateway, "get_project", project_id=project_id(1))
    assert project["notes"] == "Fresh start"
    assert "Access denied" in await fails(
        gateway, "update_project_notes", project_id=project_id(3), notes="x", username=DAVE
    )


async def test_hand_a_project_to_another_manager(gateway: StaticTokenGateway) -> None:
    out = await ok(gateway, "set_project_manager", project_id=project_id(1), user=ALICE)  # dave manages it now
    assert out["project_manager"]["username"] == ALICE
    gateway.calls.clear()
    again = await ok(gateway, "set_project_manager", project_id=project_id(1), user=ALICE)
    assert again["unchanged"] is True and sent(gateway) == []
    assert "No Cway user" in await fails(gateway, "set_project_manager", project_id=project_id(1), user=BOB)
    # dave is no longer the manager of project 1 and does not order it: he cannot take it back.
    assert "Access denied" in await fails(
        gateway, "set_project_manager", project_id=project_id(1), user=DAVE, username=DAVE
    )
