"""The emulator's lifecycle rules, straight over GraphQL (the tools check states before sending,
so these refusals are reached only by a client that does not): who may, which states, all or nothing."""

from __future__ import annotations

from typing import Any

import pytest

from cway_emulator import EmulatorServer
from cway_emulator.fixtures import ADMIN, ALICE, ARTWORK_IDS, BOB, DAVE, ERIN, PROJECT_IDS
from tests.emulator.conftest import Flow

P1, P2, P3, P4 = (PROJECT_IDS[n] for n in (1, 2, 3, 4))
POSTER, FLYER, BANNER, FRONT, REPORT = (ARTWORK_IDS[n] for n in (1, 2, 3, 4, 6))
BATCH = "($p: UUID!, $a: [UUID!]!) {{ {op}(projectId: $p, artworkIds: $a) }}"


@pytest.fixture
def token(flow: Flow) -> Any:
    cache: dict[str, str] = {}

    def get(user: str) -> str:
        if user not in cache:
            cache[user] = str(flow.cway_login(user)["access_token"])
        return cache[user]

    return get


def error(flow: Flow, token: str, query: str, variables: dict[str, Any] | None = None) -> str:
    body = flow.gql(token, query, variables).json()
    assert body.get("errors"), body
    return str(body["errors"][0]["message"])


def ok(flow: Flow, token: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = flow.gql(token, query, variables).json()
    assert not body.get("errors"), body
    return dict(body["data"])


def batch(op: str) -> str:
    return "mutation" + BATCH.format(op=op)


def test_a_batch_changes_all_or_nothing(flow: Flow, emu: EmulatorServer, token: Any) -> None:
    message = error(flow, token(DAVE), batch("startArtworks"), {"p": P1, "a": [BANNER, POSTER]})
    assert "is FOR_REVIEW: it cannot be changed to FOR_REVIEW" in message
    assert emu.emulator.store.artworks[BANNER]["state"] == "UNSTARTED"  # the valid one did not move either


def test_states_people_and_projects_are_enforced(flow: Flow, emu: EmulatorServer, token: Any) -> None:
    dave, alice, erin = token(DAVE), token(ALICE), token(ERIN)
    create = "mutation($i: CreateArtworkInput!) { createArtwork(input: $i) }"
    category = emu.emulator.store.orgs[emu.emulator.store.projects[P1]["_org"]]["defaultCategory"]["id"]
    ok(flow, dave, create, {"i": {"projectId": P1, "name": "Nobody on it", "categoryId": category}})
    lonely = next(a["id"] for a in emu.emulator.store.artworks.values() if a["name"] == "Nobody on it")
    assert "needs at least one approver and one supplier" in error(
        flow, dave, batch("startArtworks"), {"p": P1, "a": [lonely]}
    )
    assert "cannot be changed to DELIVERED" in error(flow, dave, batch("deliverArtworks"), {"p": P1, "a": [BANNER]})
    assert "cannot be changed to BUNDLED" in error(
        flow, dave, batch("revokeDeliveryOfArtworks"), {"p": P1, "a": [FLYER]}
    )
    assert "Access denied" in error(flow, alice, batch("cancelArtworks"), {"p": P2, "a": [FRONT]})
    assert "Access denied" in error(flow, erin, batch("cancelArtworks"), {"p": P1, "a": [POSTER]})
    assert "not found" in error(flow, token(BOB), batch("cancelArtworks"), {"p": P1, "a": [POSTER]})
    assert "only unstarted or canceled ones are deleted" in error(
        flow, dave, batch("deleteArtworks"), {"p": P1, "a": [POSTER]}
    )
    assign = "mutation($i: AssignUserToArtworkInput) { assignApproverToArtwork(input: $i) }"
    assert f"User {BOB} not found" in error(flow, dave, assign, {"i": {"artworkId": POSTER, "username": BOB}})
    # The delivered annual report: no new people, no cancel; its delivery can be revoked.
    assert "no changes are possible" in error(flow, alice, batch("cancelArtworks"), {"p": P3, "a": [REPORT]})
    ok(flow, alice, batch("revokeDeliveryOfArtworks"), {"p": P3, "a": [REPORT]})
    assert emu.emulator.store.artworks[REPORT]["state"] == "BUNDLED"


def test_projects_checkout_and_corrections(flow: Flow, emu: EmulatorServer, token: Any) -> None:
    dave, alice, erin = token(DAVE), token(ALICE), token(ERIN)
    delete = "mutation($ids: [UUID!]!, $f: Boolean) { deleteProjects(projectIds: $ids, force: $f) }"
    assert "delete with force: true" in error(flow, dave, delete, {"ids": [P2]})
    assert "Access denied" in error(flow, alice, delete, {"ids": [P4], "f": True})  # Dave's closed fair
    launch = "mutation($ids: [UUID!]!) { launchProjects(projectIds: $ids) }"
    assert "only PLANNED projects are launched" in error(flow, dave, launch, {"ids": [P2]})
    basic = "mutation($i: BasicProjectDataInput) { changeBasicProjectData(input: $i) }"
    assert "already used" in error(flow, dave, basic, {"i": {"projectId": P2, "orderNumber": "CO-1001"}})
    assert "is before startDate" in error(flow, dave, basic, {"i": {"projectId": P2, "endDate": "2025-01-01"}})
    checkout = "mutation($a: UUID!) { checkoutArtwork(artworkId: $a) }"
    assert "Access denied" in error(flow, erin, checkout, {"a": ARTWORK_IDS[5]})  # not its supplier
    correction = "mutation($i: AddCorrectionInput!) { addCorrection(input: $i) }"
    ok(flow, alice, correction, {"i": {"artworkId": POSTER, "text": "Bigger logo"}})
    (found,) = emu.emulator.store.artworks[POSTER]["_corrections"]
    invalidate = "mutation($a: UUID!, $c: UUID!) { invalidateCorrection(artworkId: $a, correctionId: $c) }"
    assert "Access denied" in error(flow, erin, invalidate, {"a": POSTER, "c": found["id"]})
    ok(flow, alice, invalidate, {"a": POSTER, "c": found["id"]})
    assert "already invalid" in error(flow, alice, invalidate, {"a": POSTER, "c": found["id"]})


@pytest.mark.parametrize(
    ("mutation", "verb", "admin_gets"),
    [
        ("launchProjects(projectIds: [$p])", "launch", "only PLANNED projects are launched"),  # lifecycle
        ("deleteProjects(projectIds: [$p])", "delete", "delete with force: true"),  # lifecycle
        ("reopenProjects(projectIds: [$p])", "manage", None),  # projects
    ],
)
def test_one_rule_says_who_manages_a_project_in_every_resolver_module(
    flow: Flow, token: Any, mutation: str, verb: str, admin_gets: str | None
) -> None:
    """Project 2 is Dave's (orderer and manager); Erin, in the same organisation, may see it but not change
    it; the system admin may (the permission check passes; a state rule may still refuse)."""
    query = f"mutation($p: UUID!) {{ {mutation} }}"
    refused = error(flow, token(ERIN), query, {"p": P2})
    assert "Access denied" in refused and f"you cannot {verb} project {P2}" in refused
    body = flow.gql(token(ADMIN), query, {"p": P2}).json()
    messages = [str(e["message"]) for e in body.get("errors") or []]
    assert not any("Access denied" in m for m in messages), messages
    if admin_gets is not None:
        assert any(admin_gets in m for m in messages), messages
