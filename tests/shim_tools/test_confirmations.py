"""Destructive changes are confirmed with the user on clients that can show a form, at both
protocol revisions (2025-11-25: an elicitation request during the call; 2026-07-28: an
input-required result and a retry); nothing changes unless the answer is yes. Clients without
elicitation are not asked (the destructive annotation is their protection)."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp.types import ElicitRequestFormParams, ElicitRequestParams, ElicitResult, TextContent

from tests.shim_tools.conftest import DAVE, artwork_id, build_server, project_id
from tests.shim_tools.static_gateway import StaticTokenGateway

REVISIONS = ["legacy", "auto"]


class Person:
    """The human behind the client: reads each question, answers as told."""

    def __init__(self, action: str = "accept", confirm: bool = True) -> None:
        self.action, self.confirm = action, confirm
        self.questions: list[str] = []

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        assert isinstance(params, ElicitRequestFormParams)
        assert params.requested_schema["required"] == ["confirm"]
        self.questions.append(params.message)
        content = {"confirm": self.confirm} if self.action == "accept" else None
        return ElicitResult(action=self.action, content=content)  # type: ignore[arg-type]


async def call(gateway: StaticTokenGateway, mode: str, person: Person | None, tool: str, **args: Any) -> Any:
    async with Client(build_server(gateway), mode=mode, elicitation_callback=person) as client:
        return await client.call_tool(tool, args)


def text(result: Any) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, TextContent))


@pytest.mark.parametrize("mode", REVISIONS)
async def test_a_confirmed_revocation_goes_through(gateway: StaticTokenGateway, mode: str) -> None:
    person = Person()
    result = await call(
        gateway, mode, person, "revoke_artwork_decisions", project_id=project_id(1), artwork_ids=[artwork_id(2)]
    )
    assert not result.is_error, text(result)
    assert result.structured_content["confirmed_by_user"] is True
    assert result.structured_content["artworks"][0]["state"] == "FOR_REVIEW"
    (question,) = person.questions  # asked once, even though the 2026 call ran twice
    assert question.startswith(
        "Revoke the decision on 1 artwork(s) in project Spring Campaign 2026: Flyer A5 (approved)."
    )
    assert [c.name for c in gateway.calls].count("RevokeArtworkApprovalOrRejection") == 1


@pytest.mark.parametrize("mode", REVISIONS)
@pytest.mark.parametrize(("action", "yes"), [("decline", False), ("cancel", False), ("accept", False)])
async def test_anything_but_yes_changes_nothing(gateway: StaticTokenGateway, mode: str, action: str, yes: bool) -> None:
    person = Person(action, yes)
    result = await call(gateway, mode, person, "approve_artwork", artwork_id=artwork_id(1))
    assert result.is_error
    assert "The user did not confirm the change; nothing was changed in Cway." in text(result)
    assert "ApproveArtwork" not in [c.name for c in gateway.calls]
    assert len(person.questions) == 1 and "Approve artwork Poster A2" in person.questions[0]


@pytest.mark.parametrize("mode", REVISIONS)
async def test_closing_and_reassigning_ask_with_what_will_change(gateway: StaticTokenGateway, mode: str) -> None:
    person = Person()
    closed = await call(gateway, mode, person, "close_projects", project_ids=[project_id(3)])
    assert not closed.is_error, text(closed)
    removed = await call(
        gateway,
        mode,
        person,
        "assign_users_to_artworks",
        project_id=project_id(1),
        artwork_ids=[artwork_id(1), artwork_id(2)],
        assignments=[{"user": "alice@contoso.example", "approver": "unassign"}],
    )
    assert not removed.is_error, text(removed)
    assert person.questions[0] == "Close 1 project(s): Annual Report 2025.\n\nGo ahead?"
    assert person.questions[1].startswith(
        "Remove alice@contoso.example as approver from 2 artwork(s) in project Spring Campaign 2026: Poster A2, Flyer A5."
    )


async def test_adding_needs_no_confirmation_and_clients_without_forms_are_not_asked(
    gateway: StaticTokenGateway,
) -> None:
    person = Person()
    added = await call(
        gateway, "auto", person, "assign_users_to_artworks", project_id=project_id(1), artwork_ids=[artwork_id(3)],
        assignments=[{"user": DAVE, "receiver": "assign"}],
    )  # fmt: skip
    assert not added.is_error and person.questions == []
    plain = await call(gateway, "auto", None, "approve_artwork", artwork_id=artwork_id(1))
    assert not plain.is_error and plain.structured_content["artworks"][0]["state"] == "APPROVED"
