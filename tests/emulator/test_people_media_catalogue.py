"""The emulator's people, media-center and catalogue rules, straight over GraphQL with static
tokens: who may invite, make teams and set permission groups; per-user folder rights; shares of
what one can see, to well-formed addresses, anonymous links that expire; the catalogue's base-data
permission, unique names and GTIN check digits. Each rule as the right and the wrong person."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from cway_contract.clock import ManualClock
from cway_emulator import EmulatorServer
from cway_emulator.fixtures import ADMIN, ADMIN_GROUP, ALICE, BOB, DAVE, MEMBER_GROUP, uid
from cway_emulator.resolvers_catalogue import gtin_ok

CONTOSO_ASSETS, LOGOS, FABRIKAM_ASSETS = uid(0x0E, 1), uid(0x0E, 2), uid(0x0E, 3)
LOGO_FILE, BRAND_GUIDE, FABRIKAM_LOGO = uid(0x0F, 1), uid(0x0F, 2), uid(0x0F, 3)
MC_POSTER = uid(0x1B, 1)
TEAM = uid(0x1D, 1)
ALICE_ID, DAVE_ID, ERIN_ID = uid(0x0B, 1), uid(0x0B, 4), uid(0x0B, 6)
BRAND, BOB_BRAND = uid(0x2C, 1), uid(0x2C, 2)


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))


@pytest.fixture(scope="module")
def server(clock: ManualClock) -> Iterator[EmulatorServer]:
    with EmulatorServer(clock=clock) as emu:
        yield emu


class Cway:
    """GraphQL as one user: ``ok`` expects data, ``refused`` expects errors (and returns the message)."""

    def __init__(self, emu: EmulatorServer, user: str) -> None:
        self.emu, self.token = emu, emu.issue_static_token(user)

    def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        resp = httpx.post(
            self.emu.cway_api_url,
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.token}"},
            trust_env=False,
            timeout=10,
        )
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def ok(self, query: str, **variables: Any) -> dict[str, Any]:
        body = self.post(query, variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    def refused(self, query: str, **variables: Any) -> str:
        body = self.post(query, variables)
        assert body.get("errors"), body
        return str(body["errors"][0]["message"])


@pytest.fixture
def as_(server: EmulatorServer, clock: ManualClock) -> Any:
    server.reset()
    clock.set(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    return lambda user: Cway(server, user)


# --- people ----------------------------------------------------------------------------------

INVITE = "mutation($e: [String!]!) { createUsersFromEmailString(emails: $e) }"
MEMBERS = "{ organisation { users { username } } }"


def test_only_admins_invite_and_malformed_addresses_refuse_the_whole_list(as_: Any) -> None:
    admin, alice = as_(ADMIN), as_(ALICE)
    assert "missing permission organisationUserAdministration" in alice.refused(INVITE, e=["new@x.example"])
    message = admin.refused(INVITE, e=["ok@printer.example, not-an-address; other@printer.example"])
    assert "Invalid e-mail address" in message and "not-an-address" in message
    assert "No e-mail address" in admin.refused(INVITE, e=[" , ; "])
    assert "ok@printer.example" not in str(admin.ok(MEMBERS))  # nothing was created
    admin.ok(INVITE, e=["Ok@Printer.example; bob@contoso.example\nalice@contoso.example"])
    users = {u["username"] for u in admin.ok(MEMBERS)["organisation"]["users"]}
    assert {"ok@printer.example", BOB, ALICE} <= users  # bob (of Fabrikam) joined Contoso too
    admin.ok(INVITE, e=["ok@printer.example"])  # again: a no-op, not an error


def test_teams_are_made_by_admins_and_changed_by_their_admins(as_: Any) -> None:
    admin, alice, dave, bob = as_(ADMIN), as_(ALICE), as_(DAVE), as_(BOB)
    create = 'mutation($n: String!) { createUserTeam(name: $n, description: "d") }'
    assert "Access denied" in alice.refused(create, n="Label team")
    admin.ok(create, n="Label team")
    assert "already exists" in admin.refused(create, n="label TEAM")
    add = "mutation($t: UUID!, $u: [TeamUserInput!]!) { addUsersToTeam(teamId: $t, users: $u) }"
    remove = "mutation($t: UUID!, $u: [UUID!]!) { removeUsersFromTeam(teamId: $t, userIds: $u) }"
    # alice is an admin of the seeded team, dave only a member
    alice.ok(add, t=TEAM, u=[{"userId": ERIN_ID}])
    assert "team" in dave.refused(remove, t=TEAM, u=[ERIN_ID])
    assert "not found" in alice.refused(add, t=TEAM, u=[{"userId": uid(0x0B, 2)}])  # bob: not in Contoso
    assert "not found" in bob.refused(add, t=TEAM, u=[{"userId": uid(0x0B, 2)}])  # the team is Contoso's
    assert "Not members" in alice.refused(remove, t=TEAM, u=[uid(0x0B, 5)])
    alice.ok(remove, t=TEAM, u=[ERIN_ID])
    found = alice.ok('{ findUsersAndTeamsPage(search: "packaging") { totalHits usersOrTeams { __typename '
                     "... on UserTeam { users { user { username } admin } } } } }")  # fmt: skip
    (team,) = found["findUsersAndTeamsPage"]["usersOrTeams"]
    assert {(m["user"]["username"], m["admin"]) for m in team["users"]} == {(ALICE, True), (DAVE, False)}


def test_permission_groups_are_set_by_admins_and_an_admin_always_remains(as_: Any) -> None:
    admin, alice = as_(ADMIN), as_(ALICE)
    groups = {g["name"]: g["id"] for g in alice.ok("{ getPermissionGroups { id name } }")["getPermissionGroups"]}
    assert groups == {"Administrator": ADMIN_GROUP, "Member": MEMBER_GROUP}
    setg = "mutation($u: [String!]!, $g: UUID!) { setPermissionGroupForUsers(usernames: $u, permissionGroupId: $g) }"
    assert "Access denied" in alice.refused(setg, u=[ALICE], g=ADMIN_GROUP)
    assert "at least one" in admin.refused(setg, u=[ADMIN], g=MEMBER_GROUP)
    assert "not found" in admin.refused(setg, u=[BOB], g=ADMIN_GROUP)  # bob is not in Contoso
    admin.ok(setg, u=[ALICE], g=ADMIN_GROUP)
    alice.ok(INVITE, e=["fresh@contoso.example"])  # alice's new rights apply at once
    admin.ok(setg, u=[ADMIN], g=MEMBER_GROUP)  # alice remains an admin, so this is allowed
    assert "Access denied" in admin.refused(INVITE, e=["x@contoso.example"])


# --- folders ---------------------------------------------------------------------------------

TREE = "{ tree { id name } }"


def test_folders_follow_per_user_rights(as_: Any) -> None:
    alice, dave, bob, admin = as_(ALICE), as_(DAVE), as_(BOB), as_(ADMIN)
    alice.ok('mutation { createRootFolder(name: "Alice private") }')
    (mine,) = [f["id"] for f in alice.ok(TREE)["tree"] if f["name"] == "Alice private"]
    assert "Alice private" not in str(dave.ok(TREE)) and "Alice private" in str(admin.ok(TREE))
    dave.ok('mutation { createRootFolder(name: "Alice private") }')  # her folder's name is not revealed to dave
    assert "already exists" in alice.refused('mutation { createRootFolder(name: "alice PRIVATE") }')
    assert "not found" in dave.refused("query($id: UUID!) { folder(id: $id) { name } }", id=mine)
    # seeded folders are open to the organisation with write but not manage rights
    rename = "mutation($f: UUID!, $n: String!) { renameFolder(folderId: $f, name: $n) }"
    assert "no manage permission" in alice.refused(rename, f=LOGOS, n="Logotypes")
    assert "not found" in bob.refused(rename, f=LOGOS, n="Mine now")
    create = "mutation($p: UUID!, $n: String!) { createFolder(input: {parentFolderId: $p, name: $n}) }"
    assert "already exists" in alice.refused(create, p=CONTOSO_ASSETS, n="logos")
    assert "must not be empty" in alice.refused(create, p=CONTOSO_ASSETS, n="  ")
    alice.ok(create, p=mine, n="Drafts")
    add = "mutation($f: UUID!, $u: UUID!, $p: FolderPermissionInput) { addUserToFolder(folderId: $f, userId: $u, permissions: $p) }"
    assert "no manage permission" in alice.refused(add, f=CONTOSO_ASSETS, u=DAVE_ID)
    assert "not found" in alice.refused(add, f=mine, u=uid(0x0B, 2))  # bob is not in Contoso
    alice.ok(add, f=mine, u=DAVE_ID)  # read-only by default
    users = alice.ok(
        "query($f: UUID!) { usersForFolder(folderId: $f) { username permissions { write manage } } }", f=mine
    )
    rows = {u["username"]: u["permissions"] for u in users["usersForFolder"]}
    assert rows[DAVE] == {"write": False, "manage": False} and rows[ALICE] == {"write": True, "manage": True}
    assert mine in str(dave.ok(TREE))
    assert "no write permission" in dave.refused(create, p=mine, n="Dave was here")
    assert "already a user" in alice.refused(add, f=mine, u=DAVE_ID)
    change = (
        "mutation($f: UUID!, $u: UUID!, $p: FolderPermissionInput!) "
        "{ changeFolderUserPermission(folderId: $f, userId: $u, permissions: $p) }"
    )
    rights = {"write": True, "manage": False, "share": False, "downloadDeliveryFiles": False}
    assert "not a user" in alice.refused(change, f=mine, u=ERIN_ID, p=rights)
    alice.ok(change, f=mine, u=DAVE_ID, p=rights)
    dave.ok(create, p=mine, n="Dave was here")
    move = "mutation($s: UUID!, $t: UUID!) { moveFolder(sourceFolderId: $s, targetFolderId: $t) }"
    drafts = next(f["id"] for f in alice.ok(TREE)["tree"] if f["name"] == "Drafts")
    assert "into itself" in alice.refused(move, s=mine, t=drafts)
    assert "not found" in alice.refused("mutation($f: UUID!) { deleteFolder(folderId: $f) }", f=FABRIKAM_ASSETS)
    alice.ok("mutation($f: UUID!) { deleteFolder(folderId: $f) }", f=mine)
    assert "Drafts" not in str(alice.ok(TREE))


def test_items_move_copy_and_remove_only_within_rights(as_: Any) -> None:
    alice, bob = as_(ALICE), as_(BOB)
    items = (
        "query($f: UUID!) { itemsForFolder(input: {folderId: $f, recursive: false}) "
        "{ items { ... on FileFolderItem { id name } ... on ArtworkFolderItem { id name } } } }"
    )
    move = "mutation($s: UUID!, $t: UUID!, $i: [UUID!]!) { moveFolderItems(sourceFolderId: $s, targetFolderId: $t, folderItems: $i) }"
    copy = move.replace("moveFolderItems", "copyFolderItems")
    assert "not found" in alice.refused(move, s=LOGOS, t=CONTOSO_ASSETS, i=[BRAND_GUIDE])  # not in Logos
    assert "not found" in bob.refused(move, s=LOGOS, t=FABRIKAM_ASSETS, i=[LOGO_FILE])
    alice.ok(copy, s=LOGOS, t=CONTOSO_ASSETS, i=[LOGO_FILE])
    names = [i["name"] for i in alice.ok(items, f=CONTOSO_ASSETS)["itemsForFolder"]["items"]]
    assert names.count("contoso-logo.svg") == 1 and LOGO_FILE in str(alice.ok(items, f=LOGOS))
    remove = "mutation($f: UUID!, $i: UUID!) { removeFolderItem(folderId: $f, folderItemId: $i) }"
    alice.ok(remove, f=LOGOS, i=LOGO_FILE)
    assert alice.ok(items, f=LOGOS)["itemsForFolder"]["items"] == []


# --- shares ----------------------------------------------------------------------------------

SHARE = (
    "mutation($id: UUID, $e: String!, $items: [CreateShareMediaInput!]!) { createShare(input: "
    '{shareId: $id, title: "Logo", emails: $e, message: "hi", items: $items}) }'
)
ANON = (
    "mutation($id: UUID, $items: [CreateShareMediaInput!]!) { createAnonymousShare(input: "
    '{shareId: $id, title: "Link", message: "", items: $items}) }'
)


def test_shares_hold_only_what_the_sender_sees_and_go_to_valid_addresses(as_: Any) -> None:
    alice, bob, dave = as_(ALICE), as_(BOB), as_(DAVE)
    logo = [{"mediaType": "FILE", "id": LOGO_FILE}]
    assert "not found" in bob.refused(SHARE, e="x@printer.example", items=logo)
    assert "Invalid e-mail" in alice.refused(SHARE, e="x@printer, y@printer.example", items=logo)
    assert "at least one item" in alice.refused(SHARE, e="x@printer.example", items=[])
    sid = uid(0x1A, 0x100)
    alice.ok(SHARE, id=sid, e=f"{DAVE}; print@printer.example", items=logo)
    share = "query($id: UUID!) { share(id: $id) { sharedTo sharedFrom read size } }"
    assert alice.ok(share, id=sid)["share"] == {"sharedTo": DAVE, "sharedFrom": ALICE, "read": False, "size": 12_345}
    mark = "mutation($id: UUID!) { markShareAsRead(shareId: $id) }"
    assert "only the recipient" in alice.refused(mark, id=sid)
    dave.ok(mark, id=sid)
    dave.ok(mark, id=sid)  # idempotent
    remove = "mutation($ids: [UUID!]!) { removeShares(shareIds: $ids) }"
    assert "only the sender" in dave.refused(remove, ids=[sid])
    assert "not found" in bob.refused(remove, ids=[sid])
    alice.ok(remove, ids=[sid])
    assert "not found" in alice.refused(share, id=sid)


@pytest.mark.parametrize("days", [14, 2])
def test_anonymous_share_links_expire(as_: Any, clock: ManualClock, server: EmulatorServer, days: int) -> None:
    server.knobs.update({"anonymous_share_days": days})
    alice, bob = as_(ALICE), as_(BOB)
    sid = uid(0x1A, 0x200)
    alice.ok(ANON, id=sid, items=[{"mediaType": "MC_ARTWORK", "id": MC_POSTER}])
    read = "query($id: UUID!) { anonymousShare(id: $id) { name validToDate } }"
    assert bob.ok(read, id=sid)["anonymousShare"]["name"] == "Link"  # anyone with the link
    assert "already exists" in alice.refused(ANON, id=sid, items=[{"mediaType": "FILE", "id": LOGO_FILE}])
    clock.advance(days=days, seconds=-1)
    assert bob.ok(read, id=sid)["anonymousShare"]["name"] == "Link"
    clock.advance(seconds=2)
    assert "not found" in bob.refused(read, id=sid)


def test_comments_on_media_artworks(as_: Any) -> None:
    alice, bob = as_(ALICE), as_(BOB)
    comment = "mutation($c: [ArtworkCommentInput!]!) { commentMediaCenterArtworks(comments: $c) }"
    assert "not found" in bob.refused(comment, c=[{"artworkId": MC_POSTER, "text": "hi"}])
    assert "must not be empty" in alice.refused(comment, c=[{"artworkId": MC_POSTER, "text": " "}])
    alice.ok(comment, c=[{"artworkId": MC_POSTER, "text": "Logo too small"}])
    art = alice.ok(
        "query($a: UUID!) { mediaCenterArtwork(artworkId: $a) { comments { number text commentedBy { username } } } }",
        a=MC_POSTER,
    )
    assert art["mediaCenterArtwork"]["comments"] == [
        {"number": 1, "text": "Logo too small", "commentedBy": {"username": ALICE}}
    ]


# --- catalogue -------------------------------------------------------------------------------


def test_catalogue_changes_need_base_data_rights_and_unique_names(as_: Any) -> None:
    admin, alice, bob = as_(ADMIN), as_(ALICE), as_(BOB)
    assert alice.ok("{ brands { name } }") == {"brands": [{"name": "Contoso Crunch"}]}
    assert "Access denied" in alice.refused('mutation { createBrand(name: "Nope") }')
    assert "already exists" in admin.refused('mutation { createBrand(name: "contoso crunch") }')
    assert "not found" in admin.refused('mutation($id: UUID!) { updateBrand(id: $id, name: "X") }', id=BOB_BRAND)
    admin.ok('mutation { createMarket(name: "Baltics") }')
    assert "Baltics" not in str(bob.ok("{ markets { name } }"))
    create = "mutation($i: CreateArticleInput) { createArticle(input: $i) }"
    assert "Invalid GTIN" in admin.refused(create, i={"articleNo": "CC-500", "gtins": ["7310865004704"]})
    assert "already exists" in admin.refused(create, i={"articleNo": "cc-375"})
    new = admin.ok(create, i={"articleNo": "CC-500", "brandName": "New Brand", "categoryNames": ["Cereals", "Muesli"]})
    found = alice.ok(
        "query($id: UUID!) { article(articleId: $id) { brand { name } categories { name lineage { name } } } }",
        id=new["createArticle"],
    )["article"]
    assert found == {
        "brand": {"name": "New Brand"},
        "categories": [{"name": "Muesli", "lineage": [{"name": "Cereals"}]}],
    }
    assert bob.ok("query($id: UUID!) { article(articleId: $id) { id } }", id=new["createArticle"]) == {"article": None}
    cat = 'mutation { createArtworkCategory(name: "Labels") }'
    assert "Access denied" in alice.refused(cat)
    admin.ok(cat)
    assert "already exists" in admin.refused(cat)


def test_print_specifications_are_changed_by_their_author_or_an_admin(as_: Any) -> None:
    alice, dave, admin = as_(ALICE), as_(DAVE), as_(ADMIN)
    sid = alice.ok('mutation { createPrintSpecification(name: "Label, flexo") }')["createPrintSpecification"]
    update = "mutation($i: UpdatePrintSpecificationInput!) { updatePrintSpecification(input: $i) }"
    assert "only the author" in dave.refused(update, i={"id": sid, "name": "Dave's"})
    alice.ok(update, i={"id": sid, "name": "Label, flexo 2", "packaging": {
        "packagingItem": "Label", "substrate": "PP", "substrateColor": "Clear"}})  # fmt: skip
    admin.ok(update, i={"id": sid, "name": "Label, flexo 3"})
    spec = dave.ok(
        "query($id: UUID!) { printSpecification(id: $id) { name packaging { substrate } createdBy { username } } }",
        id=sid,
    )
    assert spec["printSpecification"] == {
        "name": "Label, flexo 3",
        "packaging": {"substrate": "PP"},
        "createdBy": {"username": ALICE},
    }


def test_gtin_check_digits() -> None:
    assert gtin_ok("7310865004703") and gtin_ok("96385074") and gtin_ok("036000291452")
    assert not gtin_ok("7310865004704") and not gtin_ok("731086500470") and not gtin_ok("abc")


@pytest.mark.parametrize("updates", [False, True])
def test_adding_a_folder_user_twice_follows_the_knob(as_: Any, server: EmulatorServer, updates: bool) -> None:
    server.knobs.update({"folder_add_user_updates": updates})
    admin = as_(ADMIN)
    add = (
        "mutation($f: UUID!, $u: UUID!, $p: FolderPermissionInput) "
        "{ addUserToFolder(folderId: $f, userId: $u, permissions: $p) }"
    )
    rights = {"write": True, "manage": True, "share": False, "downloadDeliveryFiles": False}
    admin.ok('mutation { createRootFolder(name: "Admin only") }')
    (fid,) = [f["id"] for f in admin.ok(TREE)["tree"] if f["name"] == "Admin only"]
    admin.ok(add, f=fid, u=ERIN_ID)
    if updates:
        admin.ok(add, f=fid, u=ERIN_ID, p=rights)
    else:
        assert "already a user" in admin.refused(add, f=fid, u=ERIN_ID, p=rights)
    users = admin.ok("query($f: UUID!) { usersForFolder(folderId: $f) { username permissions { manage } } }", f=fid)
    erin = next(u for u in users["usersForFolder"] if u["username"] == "erin@contoso.example")
    assert erin["permissions"]["manage"] is updates
