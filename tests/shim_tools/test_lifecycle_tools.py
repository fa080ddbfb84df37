"""The artwork lifecycle and project administration tools against the emulator's rules.

Each test acts as the people the seed gives roles to: Dave manages Spring Campaign 2026 (project 1,
ordered by Alice) and Packaging Redesign (project 2); Alice supplies Cereal Box Back; Bob is in
another organisation (Fabrikam) and owns the PLANNED Fabrikam Secret Launch (project 6).
"""

from __future__ import annotations

from typing import Any

from mcp.types import TextContent

from tests.shim_tools.conftest import ALICE, BOB, DAVE, artwork_id, connected, file_id, project_id
from tests.shim_tools.static_gateway import StaticTokenGateway

ERIN = "erin@contoso.example"  # a member of Contoso and of Fabrikam


def text(result: Any) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, TextContent))


def sent(gateway: StaticTokenGateway) -> list[str | None]:
    return [c.name for c in gateway.calls]


async def ok(client: Any, tool: str, **args: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, f"{tool}: {text(result)}"
    assert result.structured_content is not None
    return dict(result.structured_content)


async def error(client: Any, tool: str, **args: Any) -> str:
    result = await client.call_tool(tool, args)
    assert result.is_error, f"{tool} unexpectedly succeeded: {text(result)}"
    return text(result)


async def test_a_project_manager_launches_dates_and_assigns_an_approver(gateway: StaticTokenGateway) -> None:
    p6 = project_id(6)
    async with connected(gateway) as client:
        launched = await ok(client, "launch_projects", project_ids=[p6], username=BOB)
        again = await ok(client, "launch_projects", project_ids=[p6], username=BOB)
        dated = await ok(
            client, "set_project_dates", project_id=p6, start_date="2026-03-02", end_date="2026-10-15", username=BOB
        )
        created = await ok(client, "create_artwork", project_id=p6, name="Launch poster", username=BOB)
        art = created["artwork"]["id"]
        assigned = await ok(client, "assign_artwork_role", artwork_id=art, user=ERIN, role="approver", username=BOB)
        refused = await error(client, "assign_artwork_role", artwork_id=art, user=ALICE, role="approver", username=BOB)
    assert launched["accepted"] is True and launched["projects"][0]["state"] == "IN_PROGRESS"
    assert again["projects"][0]["unchanged"] is True and "accepted" not in again  # nothing sent the second time
    assert sent(gateway).count("LaunchProjects") == 1
    assert (dated["start_date"], dated["end_date"]) == ("2026-03-02", "2026-10-15")
    assert [p["username"] for p in assigned["approvers"]] == [ERIN]
    assert "User alice@contoso.example not found" in refused  # Alice is not in Fabrikam


async def test_an_artwork_from_start_to_delivery_and_back(gateway: StaticTokenGateway) -> None:
    p1, banner, flyer = project_id(1), artwork_id(3), artwork_id(2)
    async with connected(gateway) as client:
        started = await ok(client, "start_artworks", project_id=p1, artwork_ids=[banner], username=DAVE)
        gateway.calls.clear()
        restarted = await ok(client, "start_artworks", project_id=p1, artwork_ids=[banner], username=DAVE)
        assert "StartArtworks" not in sent(gateway)
        no_receiver = await error(client, "deliver_artworks", project_id=p1, artwork_ids=[flyer], username=DAVE)
        await ok(client, "assign_artwork_role", artwork_id=flyer, user=ERIN, role="receiver", username=DAVE)
        delivered = await ok(
            client, "deliver_artworks", project_id=p1, artwork_ids=[flyer], message="Final files", username=DAVE
        )
        revoked = await ok(client, "revoke_artwork_delivery", project_id=p1, artwork_ids=[flyer], username=DAVE)
        await ok(client, "deliver_artworks", project_id=p1, artwork_ids=[flyer], username=DAVE)
        rejected = await ok(client, "reject_delivered_artworks", project_id=p1, artwork_ids=[flyer], username=DAVE)
        canceled = await ok(client, "cancel_artworks", project_id=p1, artwork_ids=[banner], username=DAVE)
        deleted = await ok(client, "delete_artworks", project_id=p1, artwork_ids=[banner], username=DAVE)
        history = await ok(client, "get_artwork_history", artwork_id=flyer, username=DAVE)
    assert started["artworks"][0] == {"id": banner, "name": "Web Banner", "was": "UNSTARTED", "state": "FOR_REVIEW"}
    assert restarted["artworks"][0]["unchanged"] is True
    assert "has no receiver to deliver to" in no_receiver
    assert delivered["artworks"][0]["state"] == "DELIVERED"
    assert revoked["artworks"][0]["state"] == "BUNDLED"
    assert rejected["artworks"][0]["state"] == "REJECTED"
    assert canceled["artworks"][0]["state"] == "CANCELED"
    assert deleted["artworks"][0]["state"] == "DELETED"
    names = [e["name"] for e in history["events"]]
    assert names.count("ARTWORK_DELIVERED") == 2 and "DELIVERY_REVOKED" in names


async def test_states_and_people_are_checked_before_anything_is_sent(gateway: StaticTokenGateway) -> None:
    p1, p2 = project_id(1), project_id(2)
    async with connected(gateway) as client:
        wrong_state = await error(client, "cancel_artworks", project_id=p1, artwork_ids=[artwork_id(6)], username=DAVE)
        wrong_project = await error(client, "start_artworks", project_id=p1, artwork_ids=[artwork_id(4)], username=DAVE)
        busy = await error(client, "delete_artworks", project_id=p1, artwork_ids=[artwork_id(1)], username=DAVE)
        assert not [n for n in sent(gateway) if n in ("CancelArtworks", "StartArtworks", "DeleteArtworks")]
        not_hers = await error(client, "cancel_artworks", project_id=p2, artwork_ids=[artwork_id(4)], username=ALICE)
        other_org = await error(client, "start_artworks", project_id=p1, artwork_ids=[artwork_id(3)], username=BOB)
    assert "not in project Spring Campaign 2026" in wrong_state  # the annual report's artwork
    assert "is not in project Spring Campaign 2026; nothing was changed" in wrong_project
    assert "only UNSTARTED or CANCELED artworks can be deleted" in busy
    assert "Access denied: only the orderer or project manager may change project" in not_hers
    assert f"Project {p1} not found" in other_org


async def test_checkout_is_one_person_at_a_time(gateway: StaticTokenGateway) -> None:
    back = artwork_id(5)  # REJECTED: a new revision is due; Alice supplies it, Dave manages the project
    files = [{"file_id": file_id(2), "filename": "cereal-back-v2.pdf"}]
    async with connected(gateway) as client:
        mine = await ok(client, "checkout_artwork", artwork_id=back, username=ALICE)
        again = await ok(client, "checkout_artwork", artwork_id=back, username=ALICE)
        taken = await error(client, "checkout_artwork", artwork_id=back, username=DAVE)
        not_his = await error(client, "checkin_artwork", artwork_id=back, delivery_files=files, username=DAVE)
        no_files = await error(client, "checkin_artwork", artwork_id=back, username=ALICE)
        back_in = await ok(client, "checkin_artwork", artwork_id=back, delivery_files=files, username=ALICE)
        his = await ok(client, "checkout_artwork", artwork_id=back, username=DAVE)
        under_review = await error(client, "checkout_artwork", artwork_id=artwork_id(1), username=DAVE)
    assert mine["checked_out"] is True and again["accepted"] is True
    assert "is checked out by alice@contoso.example" in taken
    assert "is not checked out by you (but by alice@contoso.example)" in not_his
    assert "Give at least one file" in no_files
    assert back_in["checked_out"] is False and his["checked_out"] is True
    assert "FOR_REVIEW: no new revision can be made now" in under_review


async def test_corrections_are_invalidated_and_restored(gateway: StaticTokenGateway) -> None:
    poster = artwork_id(1)
    async with connected(gateway) as client:
        await ok(client, "add_correction", artwork_id=poster, text="Logo bigger", username=ALICE)
        listed = await ok(client, "list_artwork_corrections", artwork_id=poster, username=DAVE)
        (correction,) = listed["corrections"]
        hidden = await ok(
            client, "set_correction_validity", artwork_id=poster, correction_id=correction["id"], valid=False,
            username=DAVE,
        )  # fmt: skip
        gateway.calls.clear()
        again = await ok(
            client, "set_correction_validity", artwork_id=poster, correction_id=correction["id"], valid=False,
            username=DAVE,
        )  # fmt: skip
        assert "InvalidateCorrection" not in sent(gateway)
        bob_refused = await error(client, "list_artwork_corrections", artwork_id=poster, username=BOB)
        restored = await ok(
            client, "set_correction_validity", artwork_id=poster, correction_id=correction["id"], valid=True,
            username=ALICE,
        )  # fmt: skip
    assert correction["text"] == "Logo bigger" and correction["valid"] is True and correction["by"] == ALICE
    assert hidden["corrections"][0]["valid"] is False and hidden["corrections"][0]["invalidated_by"] == DAVE
    assert again["unchanged"] is True
    assert f"Artwork {poster} not found" in bob_refused
    assert restored["corrections"][0]["valid"] is True


async def test_artwork_data_name_dates_category_and_approver_removal(gateway: StaticTokenGateway) -> None:
    p2, front = project_id(2), artwork_id(4)  # Cereal Box Front: FOR_REVIEW, approvers Alice and Dave
    async with connected(gateway) as client:
        renamed = await ok(client, "rename_artwork", artwork_id=front, name="Cereal Box Front v2", username=DAVE)
        dated = await ok(
            client, "set_artwork_dates", project_id=p2, artwork_ids=[front], end_date="2026-06-01", username=DAVE
        )
        backwards = await error(
            client, "set_artwork_dates", project_id=p2, artwork_ids=[front], end_date="2025-01-01", username=DAVE
        )
        unknown = await error(
            client, "change_artwork_category", project_id=p2, artwork_ids=[front], category="Video", username=DAVE
        )
        category = await ok(
            client, "change_artwork_category", project_id=p2, artwork_ids=[front], category="print", username=DAVE
        )
        removed = await ok(client, "remove_artwork_approver", artwork_id=front, user=ALICE, username=DAVE)
        last = await error(client, "remove_artwork_approver", artwork_id=front, user=DAVE, username=DAVE)
    assert renamed["name"] == "Cereal Box Front v2"
    assert dated["artworks"][0]["end_date"] == "2026-06-01" and dated["artworks"][0]["start_date"] == "2026-02-01"
    assert "endDate 2025-01-01 is before startDate 2026-02-01" in backwards
    assert "No artwork category 'Video' in this organisation; its categories are: Print." in unknown
    assert category["artworks"][0]["category"] == "Print"
    assert [p["username"] for p in removed["approvers"]] == [DAVE]
    assert "assign another approver before removing" in last


async def test_a_manager_edits_dates_data_and_orderer_of_a_project_and_others_are_refused(
    gateway: StaticTokenGateway,
) -> None:
    p1, p2, p4 = project_id(1), project_id(2), project_id(4)
    async with connected(gateway) as client:
        edited = await ok(
            client, "edit_project", project_id=p2, name="Packaging Redesign 2026", order_number="CO-1102",
            username=DAVE,
        )  # fmt: skip
        taken_no = await error(client, "edit_project", project_id=p2, order_number="CO-1001", username=DAVE)
        orderer = await ok(client, "change_project_orderer", project_id=p2, user=ALICE, username=DAVE)
        files = await ok(
            client, "add_files_to_project", project_id=p2, file_ids=[file_id(1), file_id(2)], username=DAVE
        )
        gateway.calls.clear()
        same = await ok(client, "add_files_to_project", project_id=p2, file_ids=[file_id(1)], username=DAVE)
        assert "AttachFilesToProject" not in sent(gateway)
        foreign = await error(client, "add_files_to_project", project_id=p2, file_ids=[file_id(3)], username=DAVE)
        fewer = await ok(client, "remove_files_from_project", project_id=p2, file_ids=[file_id(1)], username=DAVE)
        unfinished = await error(client, "deliver_project", project_id=p1, username=DAVE)
        in_progress = await error(client, "delete_projects", project_ids=[p2], username=DAVE)
        assert "DeleteProjects" not in sent(gateway)
        deleted = await ok(client, "delete_projects", project_ids=[p4], username=DAVE)
        exported = await ok(client, "export_project", project_id=p1, username=ALICE)
        link = await ok(client, "get_file_download_url", file_id=exported["file_id"], username=ALICE)
    assert edited["name"] == "Packaging Redesign 2026" and edited["order_no"] == "CO-1102"
    assert "order number 'CO-1001' is empty or already used" in taken_no
    assert orderer["orderer"]["username"] == ALICE
    assert sorted(f["name"] for f in files["files"]) == ["brand-guide.pdf", "contoso-logo.svg"]
    assert same["unchanged"] is True
    assert f"File {file_id(3)} not found" in foreign  # Fabrikam's file
    assert [f["name"] for f in fewer["files"]] == ["brand-guide.pdf"]
    assert "still has artworks to deliver or cancel: Poster A2 (FOR_REVIEW)" in unfinished
    assert "close it first or pass force" in in_progress
    assert deleted["accepted"] is True and deleted["projects"][0]["state"] == "DELETED"
    assert link["file"]["name"] == "Spring Campaign 2026.zip" and link["url"].startswith("http")
