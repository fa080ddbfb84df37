"""Issue 19's "done means", through a spawned shim on the emulator, spawned the way a desktop client
spawns it (the SDK's default environment plus the env block), bearers from the real daemon:

* a project manager launches a project, sets its dates and assigns an approver;
* the generic mutation tool asks first and sends nothing on decline (checked at the emulator: no
  GraphQL request arrived, the data is unchanged), and runs on yes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession, stdio_client
from mcp.client.context import ClientRequestContext
from mcp.types import ElicitRequestFormParams, ElicitRequestParams, ElicitResult

from cway_emulator.server import EmulatorServer
from tests.helpers.daemon import RunningDaemon
from tests.shim.harness import CALL_TIMEOUT_SECONDS, Shim, shim_params, shim_session, sign_in, text_of

pytestmark = pytest.mark.slow

ALICE = "alice@contoso.example"
BOB = "bob@contoso.example"  # Fabrikam Packaging: orders the PLANNED "Fabrikam Secret Launch"
ERIN = "erin@contoso.example"  # a member of Fabrikam too
SECRET_LAUNCH = "0000000c-0000-4000-8000-000000000006"
POSTER = "0000000d-0000-4000-8000-000000000001"
SPRING = "0000000c-0000-4000-8000-000000000001"
RENAME = (
    "mutation Rename($p: UUID!, $a: UUID!, $n: String!) { changeArtworkName(projectId: $p, artworkId: $a, name: $n) }"
)


async def test_a_project_manager_launches_a_project_sets_dates_and_assigns_an_approver(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon
) -> None:
    async with shim_session({**env, "CWAY_USERNAME": BOB}, trimmed=True) as shim:
        await sign_in(shim, emu, BOB)
        launched = await shim.ok("launch_projects", {"project_ids": [SECRET_LAUNCH]})
        dated = await shim.ok(
            "set_project_dates", {"project_id": SECRET_LAUNCH, "start_date": "2026-03-02", "end_date": "2026-10-15"}
        )
        created = await shim.ok("create_artwork", {"project_id": SECRET_LAUNCH, "name": "Launch poster"})
        artwork = (created.structured_content or {})["artwork"]["id"]
        assigned = await shim.ok("assign_artwork_role", {"artwork_id": artwork, "user": ERIN, "role": "approver"})
    assert (launched.structured_content or {})["projects"][0]["state"] == "IN_PROGRESS"
    assert (dated.structured_content or {})["end_date"] == "2026-10-15"
    assert [p["username"] for p in (assigned.structured_content or {})["approvers"]] == [ERIN]
    store = emu.emulator.store  # what Cway now holds, read at the emulator itself
    project = store.projects[SECRET_LAUNCH]
    assert (project["state"], project["startDate"], project["endDate"]) == ("IN_PROGRESS", "2026-03-02", "2026-10-15")
    assert store.artworks[artwork]["_approvers"] == [ERIN]
    assert [e["name"] for e in store.events[SECRET_LAUNCH]][-3:] == [
        "PROJECT_LAUNCHED",
        "DATES_CHANGED",
        "ARTWORK_CREATED",
    ]


class Answers:
    """The person at the client: answers each confirmation form as told, and remembers the question."""

    def __init__(self) -> None:
        self.answer = "decline"
        self.questions: list[str] = []

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        assert isinstance(params, ElicitRequestFormParams)
        self.questions.append(params.message)
        if self.answer == "accept":
            return ElicitResult(action="accept", content={"confirm": True})
        return ElicitResult(action="decline")


async def call(session: ClientSession, tool: str, args: dict[str, Any]) -> Any:
    return await asyncio.wait_for(session.call_tool(tool, args), CALL_TIMEOUT_SECONDS)


async def test_the_generic_mutation_asks_first_and_sends_nothing_on_decline(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon
) -> None:
    async with shim_session({**env, "CWAY_USERNAME": ALICE}, trimmed=True) as plain:
        await sign_in(plain, emu, ALICE)
        refused = await plain.call("run_graphql_mutation", {"mutation": RENAME, "variables": {}})
    assert refused.is_error and "needs a client that can ask the user to confirm" in text_of(refused)

    person = Answers()
    variables = {"p": SPRING, "a": POSTER, "n": "Poster A2 (final)"}
    log = Path(env["CWAY_TEST_BASE"]) / "shim.log"
    with log.open("a") as errlog:
        async with (
            stdio_client(shim_params({**env, "CWAY_USERNAME": ALICE}, trimmed=True), errlog=errlog) as (read, write),
            ClientSession(read, write, elicitation_callback=person) as session,
        ):
            await asyncio.wait_for(session.initialize(), CALL_TIMEOUT_SECONDS)
            await Shim(session).ok("whoami")
            before = emu.counters["graphql"]
            declined = await call(session, "run_graphql_mutation", {"mutation": RENAME, "variables": variables})
            after_decline = emu.counters["graphql"]
            assert emu.emulator.store.artworks[POSTER]["name"] == "Poster A2"
            person.answer = "accept"
            accepted = await call(session, "run_graphql_mutation", {"mutation": RENAME, "variables": variables})
    assert declined.is_error and "nothing was changed in Cway" in text_of(declined)
    assert after_decline == before  # not one GraphQL request reached Cway for the declined call
    assert len(person.questions) == 2 and "changeArtworkName" in person.questions[0]
    assert '"n": "Poster A2 (final)"' in person.questions[0]
    assert not accepted.is_error, text_of(accepted)
    assert emu.emulator.store.artworks[POSTER]["name"] == "Poster A2 (final)"
