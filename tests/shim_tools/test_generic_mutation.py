"""``run_graphql_mutation``: asks the person first (both protocol revisions) and sends nothing unless
they say yes; refused on clients that cannot ask, for excluded operations and for anything that is not
one schema-valid mutation; absent in read-only mode."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client

from cway_contract.config import load_settings
from cway_tools.lazy_tools import LazyServer
from cway_tools.registry import register_cway_tools
from cway_tools.toolsets import ToolSelection
from tests.shim_tools.conftest import DAVE, artwork_id, build_server, connected, project_id
from tests.shim_tools.static_gateway import StaticTokenGateway
from tests.shim_tools.test_confirmations import Person, text

RENAME = (
    "mutation Rename($p: UUID!, $a: UUID!, $n: String!) { changeArtworkName(projectId: $p, artworkId: $a, name: $n) }"
)
VARIABLES = {"p": project_id(1), "a": artwork_id(1), "n": "Poster A2 (final)"}


async def call(gateway: StaticTokenGateway, mode: str, person: Person | None, **args: Any) -> Any:
    async with Client(build_server(gateway), mode=mode, elicitation_callback=person) as client:
        return await client.call_tool("run_graphql_mutation", args)


async def poster_name(gateway: StaticTokenGateway) -> str:
    async with connected(gateway) as client:
        result = await client.call_tool("get_artwork", {"artwork_id": artwork_id(1)})
    return str((result.structured_content or {})["name"])


@pytest.mark.parametrize("mode", ["legacy", "auto"])
@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_it_asks_first_and_sends_nothing_on_decline(gateway: StaticTokenGateway, mode: str, action: str) -> None:
    person = Person(action, False)
    result = await call(gateway, mode, person, mutation=RENAME, variables=VARIABLES, username=DAVE)
    assert result.is_error and "nothing was changed in Cway" in text(result)
    assert gateway.calls == []  # not one request reached Cway
    (question,) = person.questions
    assert question.startswith(f"Run the Cway mutation changeArtworkName as {DAVE}?")
    assert RENAME in question and json.dumps(VARIABLES, indent=2, sort_keys=True) in question
    assert await poster_name(gateway) == "Poster A2"


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_confirmed_mutation_runs_once_under_the_emulators_rules(gateway: StaticTokenGateway, mode: str) -> None:
    person = Person()
    result = await call(gateway, mode, person, mutation=RENAME, variables=VARIABLES, username=DAVE)
    assert not result.is_error, text(result)
    assert result.structured_content == {
        "operations": ["changeArtworkName"], "confirmed_by_user": True, "data": {"changeArtworkName": True},
    }  # fmt: skip
    assert [c.name for c in gateway.calls] == ["Rename"] and len(person.questions) == 1
    assert await poster_name(gateway) == "Poster A2 (final)"
    # Cway's own rules still apply after a yes: Dave does not manage the closed trade fair project.
    closed = {"p": project_id(4), "a": artwork_id(1), "n": "x"}
    refused = await call(gateway, mode, Person(), mutation=RENAME, variables=closed, username=DAVE)
    assert refused.is_error and "Project" in text(refused)


async def test_clients_that_cannot_ask_are_refused(gateway: StaticTokenGateway) -> None:
    result = await call(gateway, "auto", None, mutation=RENAME, variables=VARIABLES, username=DAVE)
    assert result.is_error and "needs a client that can ask the user to confirm" in text(result)
    assert gateway.calls == []


@pytest.mark.parametrize(
    ("mutation", "variables", "needle"),
    [
        ('mutation { addApiKey(token: "t", description: "d") }', None, "addApiKey is not available"),
        ('mutation { removeWebhook(webhookId: "0000000d-0000-4000-8000-000000000001") }', None, "exfiltration"),
        ("mutation { activateOrganisations(organisationIds: []) }", None, "system administrator"),
        ("query { loginInfo { user { username } } }", None, "Send exactly one mutation operation"),
        ("mutation { renameArtwork(id: 1) }", None, "Cannot query field 'renameArtwork' on type 'Mutation'"),
        (RENAME, {"p": "not-a-uuid", "a": artwork_id(1), "n": "x"}, "Bad variables: $p must be UUIDs"),
        (RENAME, {"p": project_id(1)}, "Bad variables"),
        ("mutation A { deliverProject(projectId: $x) }", None, "Variable '$x' is not defined"),
        (
            "mutation { " + " ".join(f'a{i}: deliverProject(projectId: "{project_id(1)}")' for i in range(6)) + " }",
            None,
            "runs 6 mutations; the limit is 5",
        ),
    ],
)
async def test_what_is_not_one_valid_allowed_mutation_is_refused(
    gateway: StaticTokenGateway, mutation: str, variables: dict[str, Any] | None, needle: str
) -> None:
    person = Person()
    result = await call(gateway, "legacy", person, mutation=mutation, variables=variables)
    assert result.is_error and needle in text(result), text(result)
    assert "Nothing was sent." in text(result)
    assert gateway.calls == [] and person.questions == []  # refused before asking


async def test_read_only_mode_has_no_generic_mutation(gateway: StaticTokenGateway) -> None:
    base = {"AUTH_METHOD": "static", "CWAY_API_TOKEN": "t", "CWAY_TOOLSETS": "all"}
    read_only = load_settings({**base, "CWAY_READ_ONLY": "1"}, component="shim")
    server = LazyServer(name="read-only")
    register_cway_tools(server, gateway, ToolSelection.from_settings(read_only))
    async with Client(server) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert "run_graphql_mutation" not in names and "graphql_query" in names
    writable = LazyServer(name="writable")
    register_cway_tools(writable, gateway, ToolSelection.from_settings(load_settings(base, component="shim")))
    async with Client(writable) as client:
        assert "run_graphql_mutation" in {t.name for t in (await client.list_tools()).tools}
