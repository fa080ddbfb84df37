"""Prompts listed and rendered with their arguments, and ``completion/complete`` offering only the
caller's own projects and artworks (asked of the emulator with the caller's token)."""

from __future__ import annotations

from mcp.types import PromptReference, ResourceTemplateReference, TextContent

from cway_emulator import EmulatorServer
from tests.shim_tools.conftest import ALICE, BOB, connected
from tests.shim_tools.static_gateway import StaticTokenGateway

PROMPTS = {"approvals_today", "project_status_for_orderer", "chase_overdue_approvers", "review_an_artwork"}


async def test_prompts_are_listed_and_render_their_arguments(gateway: StaticTokenGateway) -> None:
    async with connected(gateway) as c:
        listed = {p.name: p for p in (await c.list_prompts()).prompts}
        assert PROMPTS <= set(listed)
        assert listed["approvals_today"].title == "What needs my approval today"
        (arg,) = listed["project_status_for_orderer"].arguments or []
        assert arg.name == "project" and arg.required
        (optional,) = listed["chase_overdue_approvers"].arguments or []
        assert optional.name == "project" and not optional.required
        rendered = await c.get_prompt("project_status_for_orderer", {"project": "Spring Campaign 2026"})
        (message,) = rendered.messages
        assert message.role == "user" and isinstance(message.content, TextContent)
        assert "'Spring Campaign 2026'" in message.content.text and "get_project" in message.content.text
        today = await c.get_prompt("approvals_today", {})
        assert isinstance(today.messages[0].content, TextContent)
        assert "list_artworks_to_approve" in today.messages[0].content.text
        chase = await c.get_prompt("chase_overdue_approvers", {})
        assert isinstance(chase.messages[0].content, TextContent)
        assert "in my projects" in chase.messages[0].content.text


def _names(emulator: EmulatorServer, user: str, kind: str) -> tuple[set[str], set[str]]:
    """(names, ids) of the projects or artworks in ``user``'s organisation, from the emulator's store."""
    store = emulator.emulator.store
    org = store.users[user]["_orgs"][0]  # the organisation a sign-in starts in
    records = (store.projects if kind == "projects" else store.artworks).values()
    mine = [r for r in records if r.get("_org") == org]
    return {r["name"] for r in mine}, {r["id"] for r in mine}


async def test_completion_offers_only_the_callers_own_projects_and_artworks(
    gateway: StaticTokenGateway, emulator: EmulatorServer
) -> None:
    prompt = PromptReference(type="ref/prompt", name="project_status_for_orderer")
    async with connected(gateway) as c:
        everything = await c.complete(prompt, {"name": "project", "value": ""})
        alice_projects = set(everything.completion.values)
        assert alice_projects
        spring = await c.complete(prompt, {"name": "project", "value": "Spr"})
        assert spring.completion.values and all("spr" in v.lower() for v in spring.completion.values)
        artworks = await c.complete(
            PromptReference(type="ref/prompt", name="review_an_artwork"), {"name": "artwork", "value": ""}
        )
        alice_artworks = set(artworks.completion.values)
        assert alice_artworks
        template = ResourceTemplateReference(type="ref/resource", uri="cway://artworks/{id}")
        ids = await c.complete(template, {"name": "id", "value": ""})
        assert ids.completion.values and all(len(v) == 36 for v in ids.completion.values)

        gateway.default_username = BOB  # the same server, now answering Bob
        try:
            bob_projects = set((await c.complete(prompt, {"name": "project", "value": ""})).completion.values)
        finally:
            gateway.default_username = ALICE
    assert bob_projects and not (bob_projects & alice_projects)  # another organisation's objects never appear
    bob_names, _ = _names(emulator, BOB, "projects")
    assert bob_projects <= bob_names
    assert not (alice_projects & bob_names) and not (set(ids.completion.values) & _names(emulator, BOB, "artworks")[1])
    assert {c.username for c in gateway.calls if c.name == "Projects"} == {ALICE, BOB}  # each asked as themselves
