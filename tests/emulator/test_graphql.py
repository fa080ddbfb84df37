"""GraphQL against the real schema: validation, isolation, persistence of mutations."""

from __future__ import annotations

from typing import Any

import pytest

from cway_emulator import EmulatorServer
from cway_emulator.fixtures import ARTWORK_IDS, BOB, DAVE, PROJECT_IDS, uid
from tests.emulator.conftest import Flow

ALICE_PROJECT, BOB_PROJECT = PROJECT_IDS[1], PROJECT_IDS[5]
POSTER, BOB_LABEL = ARTWORK_IDS[1], ARTWORK_IDS[7]


@pytest.fixture
def alice(flow: Flow) -> str:
    return str(flow.cway_login()["access_token"])


@pytest.fixture
def bob(flow: Flow) -> str:
    return str(flow.cway_login(BOB)["access_token"])


def data(flow: Flow, token: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    resp = flow.gql(token, query, variables)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


def test_alice_cannot_see_bobs_project(flow: Flow, alice: str, bob: str) -> None:
    body = flow.gql(alice, "query($id: UUID!) { project(id: $id) { id name } }", {"id": BOB_PROJECT}).json()
    assert body["data"] == {"project": None}
    assert "not found" in body["errors"][0]["message"]
    assert "Fabrikam" not in str(body)
    ids = {p["id"] for p in data(flow, alice, "{ projects { projects { id } } }")["projects"]["projects"]}
    assert ALICE_PROJECT in ids and BOB_PROJECT not in ids
    bobs = data(flow, bob, "{ projects { totalHits projects { id } } }")["projects"]
    assert {p["id"] for p in bobs["projects"]} == {PROJECT_IDS[5], PROJECT_IDS[6]}
    art = flow.gql(alice, f'{{ artwork(id: "{BOB_LABEL}") {{ name }} }}').json()
    assert art["data"]["artwork"] is None and art["errors"]


def test_alice_cannot_approve_bobs_artwork(flow: Flow, alice: str, bob: str) -> None:
    resp = flow.gql(alice, f'mutation {{ approveArtwork(artworkId: "{BOB_LABEL}") }}').json()
    assert resp["data"] is None and "not found" in resp["errors"][0]["message"]
    state = data(flow, bob, f'{{ artwork(id: "{BOB_LABEL}") {{ state }} }}')["artwork"]["state"]
    assert state == "FOR_REVIEW"


@pytest.mark.parametrize(
    "query",
    [
        "{ searchArtworks { name } }",
        "{ loginInfo { email } }",
        "{ projects(filter: {bogus: 1}) { totalHits } }",
        '{ project(id: "not-a-uuid") { name } }',
        "{ project { name } }",
        "{ loginInfo { user { username } ",
    ],
)
def test_invalid_documents_are_rejected(flow: Flow, emu: EmulatorServer, alice: str, query: str) -> None:
    resp = flow.gql(alice, query)
    assert resp.status_code == 200
    body = resp.json()
    assert "data" not in body and body["errors"]
    assert emu.counters["graphql_invalid"] == 1


def test_invalid_mutation_document_is_not_executed(flow: Flow, alice: str) -> None:
    resp = flow.gql(alice, f'mutation {{ approveArtwork(artworkId: "{POSTER}") noSuchField }}').json()
    assert "data" not in resp
    assert data(flow, alice, f'{{ artwork(id: "{POSTER}") {{ state }} }}')["artwork"]["state"] == "FOR_REVIEW"


def test_non_graphql_bodies_get_400(flow: Flow, emu: EmulatorServer, alice: str) -> None:
    headers = {"Authorization": f"Bearer {alice}"}
    assert flow.http.post(emu.cway_api_url, content=b"nope", headers=headers).status_code == 400
    assert flow.http.post(emu.cway_api_url, json={"q": 1}, headers=headers).status_code == 400


def test_approve_persists(flow: Flow, alice: str) -> None:
    before = data(flow, alice, "{ artworksToApprove { id } }")["artworksToApprove"]
    assert POSTER in [a["id"] for a in before]
    assert data(flow, alice, f'mutation {{ approveArtwork(artworkId: "{POSTER}") }}') == {"approveArtwork": True}
    after = data(flow, alice, "{ artworksToApprove { id } }")["artworksToApprove"]
    assert POSTER not in [a["id"] for a in after] and len(after) == len(before) - 1
    q = f'{{ artwork(id: "{POSTER}") {{ state }} artworkHistory(artworkId: "{POSTER}") {{ name }} }}'
    result = data(flow, alice, q)
    assert result["artwork"]["state"] == "APPROVED"
    assert result["artworkHistory"][-1]["name"] == "ARTWORK_APPROVED"
    again = flow.gql(alice, f'mutation {{ approveArtwork(artworkId: "{POSTER}") }}').json()
    assert again["errors"] and "cannot be approved" in again["errors"][0]["message"]


def test_reject_and_batch(flow: Flow, alice: str) -> None:
    reject = "mutation($i: RejectArtworkInput) { rejectArtwork(input: $i) }"
    inp = {"artworkId": POSTER, "username": "alice@contoso.example", "comment": "too dark"}
    assert data(flow, alice, reject, {"i": inp}) == {"rejectArtwork": True}
    art = data(flow, alice, f'{{ artwork(id: "{POSTER}") {{ state status }} }}')["artwork"]
    assert art == {"state": "REJECTED", "status": "RED"}
    batch = "mutation($p: UUID!, $a: [UUID!]!) { approveArtworks(projectId: $p, artworkIds: $a) }"
    wrong_project = flow.gql(alice, batch, {"p": ALICE_PROJECT, "a": [ARTWORK_IDS[4]]}).json()
    assert wrong_project["errors"]
    assert data(flow, alice, batch, {"p": PROJECT_IDS[2], "a": [ARTWORK_IDS[4]]}) == {"approveArtworks": True}


def test_close_reopen_and_create_project(flow: Flow, alice: str) -> None:
    close = "mutation($ids: [UUID!]!, $f: Boolean) { closeProjects(projectIds: $ids, force: $f) }"
    refused = flow.gql(alice, close, {"ids": [ALICE_PROJECT]}).json()
    assert "unfinished" in refused["errors"][0]["message"]
    assert data(flow, alice, close, {"ids": [ALICE_PROJECT], "f": True}) == {"closeProjects": True}
    closed = data(flow, alice, "{ projects(filter: {states: [CLOSED]}) { projects { id } } }")
    assert ALICE_PROJECT in [p["id"] for p in closed["projects"]["projects"]]
    reopen = "mutation($ids: [UUID!]!) { reopenProjects(projectIds: $ids) }"
    assert data(flow, alice, reopen, {"ids": [ALICE_PROJECT]}) == {"reopenProjects": True}
    assert data(flow, alice, f'{{ project(id: "{ALICE_PROJECT}") {{ state }} }}')["project"]["state"] == "IN_PROGRESS"
    # Project 4 (closed) is dave's: a colleague in the same organisation may not reopen it.
    refused = flow.gql(alice, reopen, {"ids": [PROJECT_IDS[4]]}).json()
    assert "cannot manage" in refused["errors"][0]["message"] and refused["data"] == {"reopenProjects": None}
    dave = str(flow.cway_login(DAVE)["access_token"])
    assert data(flow, dave, reopen, {"ids": [PROJECT_IDS[4]]}) == {"reopenProjects": True}
    create = "mutation($i: CreateProjectInput!) { createProject(input: $i) }"
    inp = {"name": "Emulated Launch", "ordererId": uid(0x0B, 1), "orderNo": "CO-7777"}
    assert data(flow, alice, create, {"i": inp}) == {"createProject": True}
    found = data(flow, alice, '{ projects(filter: {orderNo: "CO-7777"}) { totalHits projects { name } } }')
    assert found["projects"] == {"totalHits": 1, "projects": [{"name": "Emulated Launch"}]}
    foreign_orderer = {"name": "x", "ordererId": uid(0x0B, 2)}  # bob is in another organisation
    assert flow.gql(alice, create, {"i": foreign_orderer}).json()["errors"]


def test_filters_and_paging(flow: Flow, alice: str) -> None:
    q = "query($f: ProjectFilter, $p: Paging) { projects(filter: $f, paging: $p) { page totalHits projects { name } } }"
    page = data(flow, alice, q, {"p": {"page": 1, "pageSize": 1}})["projects"]
    assert page["page"] == 1 and page["totalHits"] == 4 and len(page["projects"]) == 1
    named = data(flow, alice, q, {"f": {"name": "cereal"}})["projects"]
    assert [p["name"] for p in named["projects"]] == ["Packaging Redesign"]
    mine = data(flow, alice, q, {"f": {"onlyMine": True, "states": ["IN_PROGRESS"]}})["projects"]
    assert [p["name"] for p in mine["projects"]] == ["Spring Campaign 2026"]
    all_mine = data(flow, alice, q, {"f": {"onlyMine": True}})["projects"]
    assert {p["name"] for p in all_mine["projects"]} == {"Spring Campaign 2026", "Annual Report 2025"}


def test_system_admin_only_queries(flow: Flow, alice: str) -> None:
    body = flow.gql(alice, "{ organisations { id } }").json()
    assert body["data"] == {"organisations": None} and "Access denied" in body["errors"][0]["message"]
    admin = str(flow.cway_login("admin@contoso.example")["access_token"])
    assert len(data(flow, admin, "{ organisations { id } }")["organisations"]) == 2


EVERYTHING = """
query Everything($p: UUID!, $a: UUID!, $f: UUID!, $file: UUID!, $share: UUID!) {
  loginInfo { user { username name email } currentOrganisation { id name }
              organisationMemberships { organisationId name } permissions { canCreateProject } }
  organisation { id name numberOfUsers users { username } defaultCategory { name } }
  statistics { approvalStats { approvedArtworks averageApprovalTime } fileStorage
               mediaCenter { totalItems } onTimeDeliveriesPerMonth { __typename } }
  projects { totalHits projects { id name state status orderNo progress { percentageDone }
             orderer { username } projectManager { name } artworks { id state } planning { start end }
             projectPermissions { canManageProject } isInClosableState created } }
  project(id: $p) { name description files { id } }
  plannerProjects { id name percentageDone artworks { name state category } }
  projectHistory(projectId: $p) { id timestamp name description }
  openAIProjectSummary(projectId: $p, audience: PROJECT_MANAGER)
  projectHistorySummary(projectId: $p)
  openProjectsCountByMonth { month count }
  artwork(id: $a) { name state category { name } approvers { username isApprover }
                    artworkPermissions { mayApprove } revisions { id } currentRevision { id } orderer { email } }
  artworksToApprove { id } artworksToUpload { id }
  artworkHistory(artworkId: $a) { name } artworkAIAnalysis(artworkId: $a)
  findUsersPage(username: "contoso", paging: {page: 0, pageSize: 10}) { totalHits users { username name } }
  getUser(username: "dave@contoso.example") { name organisationMemberships { name } }
  tree { id name parentId folders { name } }
  folder(id: $f) { name folders { id } permissions { write } }
  itemsForFolder(input: {folderId: $f}, sorting: {field: NAME, direction: DESC}, paging: {page: 0, pageSize: 5}) {
    totalHits items { __typename ... on FileFolderItem { name file { contentType } lineage { name } }
                                 ... on ArtworkFolderItem { name artwork { name preview { id } } } } }
  file(uuid: $file) { name size contentType barcodes { __typename } }
  findShares(includeRead: true) { id name sharedTo sharedFrom organisation { name } }
  share(id: $share) { name validToDate }
  tempFileDownloadUrl(fileId: $file)
}
"""


def test_every_required_resolver_answers(flow: Flow, emu: EmulatorServer, alice: str) -> None:
    variables = {"p": ALICE_PROJECT, "a": POSTER, "f": uid(0x0E, 1), "file": uid(0x0F, 1), "share": uid(0x1A, 1)}
    result = data(flow, alice, EVERYTHING, variables)
    assert result["loginInfo"]["currentOrganisation"]["name"] == "Contoso Print"
    assert result["itemsForFolder"]["totalHits"] == 3
    assert {i["__typename"] for i in result["itemsForFolder"]["items"]} == {"FileFolderItem", "ArtworkFolderItem"}
    assert result["findUsersPage"]["totalHits"] == 4  # alice, dave, admin, erin (Contoso members)
    assert len(result["openProjectsCountByMonth"]) == 12
    assert result["tempFileDownloadUrl"].startswith(emu.cway_base_url)
    assert "Spring Campaign 2026" in result["openAIProjectSummary"]
    assert [s["sharedFrom"] for s in result["findShares"]] == ["dave@contoso.example", "alice@contoso.example"]
    job = "mutation($s: [DownloadFileDescriptorInput!]!) { createDownloadJob(selections: $s) }"
    sel = [{"name": "logo", "type": "FILE", "fileId": uid(0x0F, 1)}]
    assert len(data(flow, alice, job, {"s": sel})["createDownloadJob"]) == 36
    foreign = [{"name": "theirs", "type": "FILE", "fileId": uid(0x0F, 3)}]
    assert flow.gql(alice, job, {"s": foreign}).json()["errors"]


def test_unimplemented_mutation_is_refused_not_faked(flow: Flow, alice: str) -> None:
    # An operation the product never sends (exclusions.py), so no emulator resolver will appear for it.
    body = flow.gql(alice, f'mutation {{ removeWebhook(webhookId: "{ALICE_PROJECT}") }}').json()
    assert body["data"] is None and "not implemented" in body["errors"][0]["message"]


def test_reset_data_restores_the_seed_and_keeps_sign_ins(flow: Flow, emu: EmulatorServer, alice: str) -> None:
    data(flow, alice, f'mutation {{ approveArtwork(artworkId: "{POSTER}") }}')
    emu.reset_data()
    assert data(flow, alice, f'{{ artwork(id: "{POSTER}") {{ state }} }}')["artwork"]["state"] == "FOR_REVIEW"
    emu.reset()  # a full reset drops every issued token
    assert flow.gql(alice, "{ loginInfo { user { username } } }").status_code == 401
