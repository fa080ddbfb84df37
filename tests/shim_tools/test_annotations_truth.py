"""Annotations that tell the truth: a tool marked idempotent can be repeated with the same
arguments and the second call changes nothing and succeeds."""

from __future__ import annotations

from typing import Any

import pytest

from tests.shim_tools.conftest import artwork_id, connected, file_id, project_id
from tests.shim_tools.static_gateway import StaticTokenGateway


async def test_approving_twice_is_a_no_op_success(gateway: StaticTokenGateway) -> None:
    async with connected(gateway) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert tools["approve_artwork"].annotations.idempotent_hint is True  # type: ignore[union-attr]
        first = await client.call_tool("approve_artwork", {"artwork_id": artwork_id(1)})
        gateway.calls.clear()
        second = await client.call_tool("approve_artwork", {"artwork_id": artwork_id(1)})
    assert not first.is_error and not second.is_error
    assert first.structured_content is not None and second.structured_content is not None
    assert first.structured_content["artworks"][0].get("unchanged") is None
    (again,) = second.structured_content["artworks"]
    assert again["state"] == "APPROVED" and again["ok"] is True and again["unchanged"] is True
    assert [c.name for c in gateway.calls] == ["ArtworkState"]  # no second ApproveArtwork reached Cway


async def test_bulk_approve_skips_what_is_already_approved(gateway: StaticTokenGateway) -> None:
    ids = [artwork_id(1), artwork_id(2)]  # Poster A2 is for review, Flyer A5 already approved
    async with connected(gateway) as client:
        result = await client.call_tool("approve_artworks", {"project_id": project_id(1), "artwork_ids": ids})
    assert not result.is_error and result.structured_content is not None
    rows = {r["artwork_id"]: r for r in result.structured_content["artworks"]}
    assert rows[ids[0]]["state"] == "APPROVED" and rows[ids[0]].get("unchanged") is None
    assert rows[ids[1]]["unchanged"] is True
    approve_calls = [c for c in gateway.calls if c.name == "ApproveArtworks"]
    assert [c.variables["artworkIds"] for c in approve_calls] == [[ids[0]]]


async def test_reopening_what_is_open_is_a_no_op_success(gateway: StaticTokenGateway) -> None:
    from tests.shim_tools.conftest import DAVE

    async with connected(gateway) as client:
        first = await client.call_tool("reopen_projects", {"project_ids": [project_id(4)], "username": DAVE})
        gateway.calls.clear()
        second = await client.call_tool("reopen_projects", {"project_ids": [project_id(4)], "username": DAVE})
    assert not first.is_error and not second.is_error
    assert (second.structured_content or {})["projects"][0]["state"] == "IN_PROGRESS"
    assert "ReopenProjects" not in [c.name for c in gateway.calls]  # nothing was sent the second time


# --- the lifecycle and project-administration tools (issue 19) ---------------------------------

ERIN = "erin@contoso.example"

#: (tool, arguments, acting user, the mutation it sends, setup calls): every idempotent write tool
#: whose repeat can be checked at Cway; the repeat must succeed and send nothing.
IDEMPOTENT_WRITES: list[tuple[str, dict[str, Any], str, str, list[tuple[str, dict[str, Any]]]]] = [
    ("start_artworks", {"project_id": project_id(1), "artwork_ids": [artwork_id(3)]}, "dave", "StartArtworks", []),
    ("cancel_artworks", {"project_id": project_id(1), "artwork_ids": [artwork_id(3)]}, "dave", "CancelArtworks", []),
    (
        "deliver_artworks", {"project_id": project_id(1), "artwork_ids": [artwork_id(2)]}, "dave", "DeliverArtworks",
        [("assign_artwork_role", {"artwork_id": artwork_id(2), "user": ERIN, "role": "receiver"})],
    ),
    (
        "revoke_artwork_delivery", {"project_id": project_id(3), "artwork_ids": [artwork_id(6)]}, "alice",
        "RevokeDeliveryOfArtworks", [],
    ),
    (
        "reject_delivered_artworks", {"project_id": project_id(3), "artwork_ids": [artwork_id(6)]}, "alice",
        "RejectAndChangeDeliveredArtworks", [],
    ),
    ("rename_artwork", {"artwork_id": artwork_id(1), "name": "Poster"}, "dave", "ChangeArtworkName", []),
    (
        "set_artwork_dates", {"project_id": project_id(1), "artwork_ids": [artwork_id(1)], "end_date": "2026-04-01"},
        "dave", "SetDatesOnArtworks", [],
    ),
    (
        "assign_artwork_role", {"artwork_id": artwork_id(1), "user": ERIN, "role": "receiver"}, "dave",
        "AssignReceiverToArtwork", [],
    ),
    ("remove_artwork_approver", {"artwork_id": artwork_id(4), "user": "alice@contoso.example"}, "dave",
     "RemoveApproverFromArtwork", []),
    ("launch_projects", {"project_ids": [project_id(6)]}, "bob", "LaunchProjects", []),
    ("set_project_dates", {"project_id": project_id(1), "end_date": "2026-05-31"}, "dave", "SetDatesOnProject", []),
    ("edit_project", {"project_id": project_id(2), "name": "Packaging 2026"}, "dave", "ChangeBasicProjectData", []),
    (
        "change_project_orderer", {"project_id": project_id(2), "user": "alice@contoso.example"}, "dave",
        "ChangeOrderer", [],
    ),
    ("add_files_to_project", {"project_id": project_id(2), "file_ids": [file_id(1)]}, "dave", "AttachFilesToProject", []),
    (
        "remove_files_from_project", {"project_id": project_id(2), "file_ids": [file_id(1)]}, "dave",
        "DetachFilesFromProject", [("add_files_to_project", {"project_id": project_id(2), "file_ids": [file_id(1)]})],
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("tool", "args", "who", "mutation", "setup"), IDEMPOTENT_WRITES, ids=[c[0] for c in IDEMPOTENT_WRITES]
)
async def test_idempotent_lifecycle_tools_repeat_as_a_no_op(
    gateway: StaticTokenGateway, tool: str, args: dict[str, Any], who: str, mutation: str,
    setup: list[tuple[str, dict[str, Any]]],
) -> None:  # fmt: skip
    username = f"{who}@contoso.example"
    async with connected(gateway) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}[tool].annotations
        assert listed is not None and listed.idempotent_hint is True and listed.read_only_hint is False
        for name, setup_args in setup:
            assert not (await client.call_tool(name, {**setup_args, "username": username})).is_error
        first = await client.call_tool(tool, {**args, "username": username})
        assert not first.is_error, first.content
        assert mutation in [c.name for c in gateway.calls]  # the first call really changed something
        gateway.calls.clear()
        second = await client.call_tool(tool, {**args, "username": username})
    assert not second.is_error, second.content
    assert mutation not in [c.name for c in gateway.calls]


#: Destructive tools (beyond run_graphql_mutation, tested on its own): asked first, nothing sent on "no".
DESTRUCTIVE_CASES = [c for c in IDEMPOTENT_WRITES if c[0] in {
    "cancel_artworks", "deliver_artworks", "revoke_artwork_delivery", "reject_delivered_artworks",
    "remove_artwork_approver", "edit_project", "change_project_orderer", "remove_files_from_project",
}] + [
    ("delete_artworks", {"project_id": project_id(1), "artwork_ids": [artwork_id(3)]}, "dave", "DeleteArtworks", []),
    ("delete_projects", {"project_ids": [project_id(4)]}, "dave", "DeleteProjects", []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("tool", "args", "who", "mutation", "setup"), DESTRUCTIVE_CASES, ids=[c[0] for c in DESTRUCTIVE_CASES]
)
async def test_destructive_lifecycle_tools_ask_and_send_nothing_on_no(
    gateway: StaticTokenGateway, tool: str, args: dict[str, Any], who: str, mutation: str,
    setup: list[tuple[str, dict[str, Any]]],
) -> None:  # fmt: skip
    from mcp import Client

    from tests.shim_tools.conftest import build_server
    from tests.shim_tools.test_confirmations import Person

    username = f"{who}@contoso.example"
    async with connected(gateway) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}[tool].annotations
        assert listed is not None and listed.destructive_hint is True
        for name, setup_args in setup:
            assert not (await client.call_tool(name, {**setup_args, "username": username})).is_error
    person = Person("decline", False)
    async with Client(build_server(gateway), elicitation_callback=person) as asking:
        result = await asking.call_tool(tool, {**args, "username": username})
    assert result.is_error and len(person.questions) == 1
    assert mutation not in [c.name for c in gateway.calls]
