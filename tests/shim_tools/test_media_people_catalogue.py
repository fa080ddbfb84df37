"""The media center, share, people and catalogue tools as people use them, against the emulator:
what each person may do (and the refusals they get), destructive changes confirmed first (nothing
sent on a "no"), idempotent tools repeatable, and read-backs that show the real result."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult, TextContent

from tests.shim_tools.conftest import (
    ADMIN,
    ALICE,
    BOB,
    DAVE,
    build_server,
    connected,
    file_id,
    folder_id,
    share_id,
    uid,
)
from tests.shim_tools.static_gateway import StaticTokenGateway
from tests.shim_tools.test_confirmations import REVISIONS, Person

TEAM = uid(0x1D, 1)
ADMIN_GROUP = uid(0x1E, 1)


def text(result: CallToolResult) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, TextContent))


async def ok(gateway: StaticTokenGateway, tool: str, **arguments: Any) -> dict[str, Any]:
    async with connected(gateway) as client:
        result = await client.call_tool(tool, arguments)
    assert not result.is_error, text(result)
    assert result.structured_content is not None
    return result.structured_content


async def fails(gateway: StaticTokenGateway, tool: str, **arguments: Any) -> str:
    async with connected(gateway) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error, text(result)
    return text(result)


def mutations(gateway: StaticTokenGateway) -> list[str | None]:
    return [c.name for c in gateway.calls if c.document is not None and c.document.kind == "mutation"]


async def test_a_private_folder_is_shared_with_a_colleague(gateway: StaticTokenGateway) -> None:
    made = await ok(gateway, "create_media_folder", name="Alice drafts")
    fid = made["folder_id"]
    assert "parent_id" not in made
    assert "not found" in await fails(gateway, "get_media_folder", folder_id=fid, username=DAVE)
    users = await ok(gateway, "set_folder_user", folder_id=fid, user=DAVE, write=True)
    rights = {u["username"]: u["rights"] for u in users["users"]}
    assert rights[DAVE]["write"] is True and rights[DAVE]["manage"] is False and rights[ALICE]["manage"] is True
    sub = await ok(gateway, "create_media_folder", name="From Dave", parent_folder_id=fid, username=DAVE)
    assert sub["parent_id"] == fid
    assert "no manage permission" in await fails(gateway, "rename_media_folder", folder_id=fid, name="x", username=DAVE)
    removed = await ok(gateway, "remove_folder_user", folder_id=fid, user=DAVE)
    assert DAVE not in [u["username"] for u in removed["users"]]
    again = await ok(gateway, "remove_folder_user", folder_id=fid, user=DAVE)
    assert again["unchanged"] is True
    assert "not found" in await fails(gateway, "list_folder_users", folder_id=fid, username=DAVE)
    assert "not found" in await fails(gateway, "list_folder_users", folder_id=fid, username=BOB)


async def test_folders_move_and_copy_where_the_rights_allow(gateway: StaticTokenGateway) -> None:
    top = (await ok(gateway, "create_media_folder", name="Archive"))["folder_id"]
    moved = await ok(gateway, "move_media_folder", folder_id=folder_id(2), target_folder_id=top, username=ADMIN)
    assert moved["parent_id"] == top
    assert "into itself" in await fails(
        gateway, "move_media_folder", folder_id=top, target_folder_id=folder_id(2), username=ADMIN
    )
    await ok(gateway, "copy_media_folder", folder_id=folder_id(2), target_folder_id=folder_id(1), username=ADMIN)
    tree = await ok(gateway, "list_media_folders", username=ADMIN)
    assert "Logos" in str(tree) and str(tree).count("Logos") == 2
    items = await ok(gateway, "find_media_items", folder_id=folder_id(1), search="contoso-logo", username=ADMIN)
    assert items["total"] == 1  # the copy in Contoso Assets/Logos (the original moved under Archive)


@pytest.mark.parametrize("mode", REVISIONS)
@pytest.mark.parametrize(
    ("tool", "arguments", "question", "mutation"),
    [
        ("delete_media_folder", {"folder_id": folder_id(2), "username": ADMIN}, "Delete the media folder 'Logos'",
         "DeleteFolder"),
        ("remove_media_items", {"folder_id": folder_id(2), "item_ids": [file_id(1)]},
         "Remove 1 item(s) from the media folder 'Logos'", "RemoveFolderItem"),
        ("remove_shares", {"share_ids": [share_id(1)]}, "Remove 1 share(s)", "RemoveShares"),
        ("share_media", {"title": "Logo", "emails": "p@printer.example", "file_ids": [file_id(1)]},
         "Share 1 item(s) as 'Logo' with p@printer.example", "CreateShare"),
        ("create_share_link", {"title": "Logo", "file_ids": [file_id(1)]}, "anonymous download link",
         "CreateAnonymousShare"),
        ("set_permission_group", {"usernames": [DAVE], "permission_group_id": ADMIN_GROUP, "username": ADMIN},
         "Put dave@contoso.example in the permission group 'Administrator'", "SetPermissionGroupForUsers"),
    ],
)  # fmt: skip
async def test_sensitive_changes_ask_first_and_send_nothing_on_no(
    gateway: StaticTokenGateway, mode: str, tool: str, arguments: dict[str, Any], question: str, mutation: str
) -> None:
    no = Person("decline", False)
    async with Client(build_server(gateway), mode=mode, elicitation_callback=no) as client:
        refused = await client.call_tool(tool, arguments)
    assert refused.is_error and "nothing was changed" in text(refused)
    assert mutations(gateway) == [] and question in no.questions[0]
    yes = Person()
    async with Client(build_server(gateway), mode=mode, elicitation_callback=yes) as client:
        done = await client.call_tool(tool, arguments)
    assert not done.is_error, text(done)
    assert (done.structured_content or {})["confirmed_by_user"] is True
    assert mutations(gateway).count(mutation) == 1


async def test_shares_go_out_and_come_back(gateway: StaticTokenGateway) -> None:
    made = await ok(gateway, "share_media", title="Logo pack", emails=f"{DAVE}, print@printer.example",
                    file_ids=[file_id(1)], message="For the reprint")  # fmt: skip
    assert made["recipients"] == [DAVE, "print@printer.example"] and made["size_bytes"] == 12_345
    received = await ok(gateway, "list_shares", shared_to=DAVE, include_read=False, username=DAVE)
    assert [s["name"] for s in received["shares"]] == ["Logo pack"]
    sid = received["shares"][0]["id"]
    assert "only the recipient" in await fails(gateway, "mark_share_read", share_id=sid)
    await ok(gateway, "mark_share_read", share_id=sid, username=DAVE)
    assert (await ok(gateway, "get_share", share_id=sid, username=DAVE))["read"] is True
    assert "only the sender" in await fails(gateway, "remove_shares", share_ids=[sid], username=DAVE)
    await ok(gateway, "remove_shares", share_ids=[sid])
    assert "not found" in await fails(gateway, "get_share", share_id=sid)
    assert "Invalid e-mail" in await fails(
        gateway, "share_media", title="x", emails="print@printer", file_ids=[file_id(1)]
    )
    assert "not found" in await fails(gateway, "share_media", title="x", emails="a@b.example",
                                      file_ids=[file_id(1)], username=BOB)  # fmt: skip
    link = await ok(gateway, "create_share_link", title="Poster", artwork_ids=[uid(0x1B, 1)])
    assert link["valid_until"] > "2026"


async def test_teams_and_permission_groups_are_the_admins(gateway: StaticTokenGateway) -> None:
    assert "Access denied" in await fails(gateway, "create_team", name="Mine")
    team = await ok(gateway, "create_team", name="Print buyers", description="Buy print", username=ADMIN)
    assert team["members"] == [] and team["approval_mode"] == "ALL_REQUIRED"
    assert "only an organisation admin or an admin of the team" in await fails(
        gateway, "add_team_members", team_id=team["id"], usernames=[DAVE]
    )
    added = await ok(gateway, "add_team_members", team_id=team["id"], usernames=[DAVE, ALICE], username=ADMIN)
    assert {m["username"] for m in added["members"]} == {ALICE, DAVE}
    assert "No Cway user 'bob@contoso.example'" in await fails(
        gateway, "add_team_members", team_id=team["id"], usernames=[BOB], username=ADMIN
    )
    found = await ok(gateway, "find_users_and_teams", search="print buyers")
    assert [t["name"] for t in found["teams"]] == ["Print buyers"] and found["users"] == []
    assert "Access denied" in await fails(
        gateway, "set_permission_group", usernames=[ALICE], permission_group_id=ADMIN_GROUP
    )
    await ok(gateway, "set_permission_group", usernames=[ALICE], permission_group_id=ADMIN_GROUP, username=ADMIN)
    await ok(gateway, "invite_users", emails="new@printer.example")  # alice is an admin now
    people = await ok(gateway, "find_users_and_teams", search="new@printer")
    assert [u["username"] for u in people["users"]] == ["new@printer.example"]


async def test_catalogue_reads_for_all_and_changes_for_admins(gateway: StaticTokenGateway) -> None:
    assert "Access denied" in await fails(gateway, "save_brand_or_market", kind="brand", name="Mine")
    brand = (await ok(gateway, "save_brand_or_market", kind="brand", name="Crunchy", username=ADMIN))["entries"][0]
    renamed = await ok(gateway, "save_brand_or_market", kind="brand", name="Crunchier", id=brand["id"], username=ADMIN)
    assert renamed["entries"] == [{"id": brand["id"], "name": "Crunchier"}]
    article = await ok(gateway, "save_article", article_no="CC-9", brand_id=brand["id"], gtins=["96385074"],
                       username=ADMIN)  # fmt: skip
    assert article["brand"]["name"] == "Crunchier"
    market = (await ok(gateway, "list_catalogue", kind="markets"))["entries"][0]
    updated = await ok(gateway, "save_article", article_id=article["id"], market_id=market["id"], name="Nine",
                       username=ADMIN)  # fmt: skip
    assert updated["market"]["name"] == "Nordics" and updated["name"] == "Nine" and updated["article_no"] == "CC-9"
    assert "Invalid GTIN" in await fails(gateway, "save_article", article_id=article["id"], gtins=["123"],
                                         username=ADMIN)  # fmt: skip
    assert (await ok(gateway, "find_articles", brand_id=brand["id"]))["total"] == 1
    assert (await ok(gateway, "find_articles", brand_id=brand["id"], username=BOB))["total"] == 0
    cats = await ok(gateway, "list_catalogue", kind="artwork_categories")
    assert [c["name"] for c in cats["entries"]] == ["Print"]
    spec = await ok(gateway, "save_print_specification", name="Flexo label", username=DAVE)
    assert spec["created_by"] == DAVE
    assert "only the author" in await fails(gateway, "save_print_specification", name="x",
                                            print_specification_id=spec["id"])  # fmt: skip


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("rename_media_folder", {"folder_id": folder_id(2), "name": "Logotypes", "username": ADMIN}),
        ("move_media_folder", {"folder_id": folder_id(2), "target_folder_id": folder_id(1), "username": ADMIN}),
        ("set_folder_user", {"folder_id": folder_id(1), "user": DAVE, "share": True, "username": ADMIN}),
        ("remove_folder_user", {"folder_id": folder_id(1), "user": DAVE, "username": ADMIN}),
        ("mark_share_read", {"share_id": share_id(2)}),
        ("invite_users", {"emails": "new@printer.example", "username": ADMIN}),
        ("add_team_members", {"team_id": TEAM, "usernames": [DAVE]}),
        ("remove_team_members", {"team_id": TEAM, "usernames": [DAVE]}),
        ("set_permission_group", {"usernames": [DAVE], "permission_group_id": ADMIN_GROUP, "username": ADMIN}),
    ],
)
async def test_idempotent_tools_can_be_repeated(
    gateway: StaticTokenGateway, tool: str, arguments: dict[str, Any]
) -> None:
    async with connected(gateway) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}[tool]
        assert listed.annotations is not None and listed.annotations.idempotent_hint is True
        first = await client.call_tool(tool, arguments)
        second = await client.call_tool(tool, arguments)
    assert not first.is_error and not second.is_error, text(second)
    again = dict(second.structured_content or {})
    again.pop("unchanged", None)  # a repeat may say it had nothing to send
    assert again == {k: v for k, v in (first.structured_content or {}).items() if k != "unchanged"}
