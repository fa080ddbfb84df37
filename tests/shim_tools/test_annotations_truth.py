"""Annotations that tell the truth: a tool marked idempotent can be repeated with the same
arguments and the second call changes nothing and succeeds."""

from __future__ import annotations

from tests.shim_tools.conftest import artwork_id, connected, project_id
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
