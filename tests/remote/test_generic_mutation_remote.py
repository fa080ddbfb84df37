"""``run_graphql_mutation`` through ``cway-mcp serve``: the same contract as the stdio shim. A
2026-07-28 client is asked through an input-required result (the server is stateless HTTP), a "no"
sends nothing to Cway, a "yes" runs the mutation as the signed-in user; a client that cannot ask
(here: a 2025-11-25 session without elicitation) is refused."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ElicitRequestFormParams, ElicitRequestParams, ElicitResult, TextContent

from cway_emulator import EmulatorServer
from cway_emulator.fixtures import ALICE, ARTWORK_IDS, PROJECT_IDS
from tests.helpers.remote import McpSession, MemoryTokenStorage, OAuthBrowser, oauth_client, start_replica

pytestmark = pytest.mark.slow

RENAME = "mutation R($p: UUID!, $a: UUID!, $n: String!) { changeArtworkName(projectId: $p, artworkId: $a, name: $n) }"
VARIABLES = {"p": PROJECT_IDS[1], "a": ARTWORK_IDS[1], "n": "Poster A2 (remote)"}


def text(result: Any) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, TextContent))


async def test_the_generic_mutation_asks_over_http_and_sends_nothing_on_no(
    serve_env: dict[str, str], public_port: int, emu: EmulatorServer
) -> None:
    answers = ["decline", "accept"]
    questions: list[str] = []

    async def person(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        assert isinstance(params, ElicitRequestFormParams)
        questions.append(params.message)
        if answers.pop(0) == "accept":
            return ElicitResult(action="accept", content={"confirm": True})
        return ElicitResult(action="decline")

    replica = start_replica(serve_env, public_port)
    try:
        url = replica.url + "/mcp"
        storage = MemoryTokenStorage()
        async with McpSession(url, oauth_client(url, OAuthBrowser(ALICE), storage)) as plain:
            refused = await plain.call_tool("run_graphql_mutation", {"mutation": RENAME, "variables": VARIABLES})
        assert storage.tokens is not None
        bearer = {"Authorization": f"Bearer {storage.tokens.access_token}"}
        # A 2026-07-28 client (stateless, as the server is): asked through an input-required result.
        async with (
            httpx2.AsyncClient(headers=bearer, timeout=httpx2.Timeout(30, read=60)) as http,
            Client(streamable_http_client(url, http_client=http), mode="auto", elicitation_callback=person) as session,
        ):
            before = emu.counters["graphql"]
            declined = await session.call_tool("run_graphql_mutation", {"mutation": RENAME, "variables": VARIABLES})
            sent_on_no = emu.counters["graphql"] - before
            accepted = await session.call_tool("run_graphql_mutation", {"mutation": RENAME, "variables": VARIABLES})
    finally:
        replica.stop()
    assert refused.is_error and "needs a client that can ask the user to confirm" in text(refused)
    assert declined.is_error and "nothing was changed in Cway" in text(declined), text(declined)
    assert sent_on_no == 0
    assert not accepted.is_error, text(accepted)
    assert len(questions) == 2 and "changeArtworkName" in questions[0]
    assert emu.emulator.store.artworks[ARTWORK_IDS[1]]["name"] == "Poster A2 (remote)"
