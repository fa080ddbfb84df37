"""Cway tool calls through the real shim: per-user isolation, the 401 → refresh → retry rule,
a revoked sign-in, and the static-token mode (no daemon at all)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from cway_emulator.server import EmulatorServer
from tests.helpers.daemon import RunningDaemon
from tests.helpers.emulator_gate import EndpointGate
from tests.shim.harness import secrets_in, shim_session, sign_in, text_of

pytestmark = pytest.mark.slow

ALICE = "alice@contoso.example"
BOB = "bob@contoso.example"  # a member of Fabrikam Packaging, not of Alice's Contoso Print


def project_names(text: str) -> set[str]:
    return {p["name"] for p in json.loads(text)["projects"]}


def delta(before: dict[str, int], after: dict[str, int], name: str) -> int:
    return after[name] - before[name]


async def test_two_shims_see_only_their_own_data(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon
) -> None:
    async with (
        shim_session({**env, "CWAY_USERNAME": ALICE}) as alice,
        shim_session({**env, "CWAY_USERNAME": BOB}) as bob,
    ):
        await sign_in(alice, emu, ALICE)
        await sign_in(bob, emu, BOB)
        alice_projects = project_names(text_of(await alice.ok("list_projects")))
        bob_projects = project_names(text_of(await bob.ok("list_projects")))
        alice_who = await alice.ok("whoami")
        bob_who = await bob.ok("whoami")
    assert "Packaging Redesign" in alice_projects
    assert "Fabrikam Label Series" in bob_projects
    assert not alice_projects & bob_projects
    assert alice_who.structured_content is not None and alice_who.structured_content["username"] == ALICE
    assert bob_who.structured_content is not None and bob_who.structured_content["organisation_name"] == (
        "Fabrikam Packaging"
    )


async def test_a_401_forces_exactly_one_refresh_and_one_retry(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon
) -> None:
    async with shim_session({**env, "CWAY_USERNAME": ALICE}) as shim:
        await sign_in(shim, emu, ALICE)
        before = emu.counters
        emu.knobs.fail("graphql", "401")  # Cway rejects the next request's (still valid) access token
        projects = await shim.ok("list_projects")
        after = emu.counters
    assert "Packaging Redesign" in text_of(projects)
    assert delta(before, after, "cway_token_refresh") == 1
    assert delta(before, after, "graphql") == 2  # the rejected request and its one retry


async def test_two_shims_refused_at_once_cause_one_refresh(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both shims name the refused token's fingerprint, so the daemon refreshes once for both.
    async with (
        shim_session({**env, "CWAY_USERNAME": ALICE}) as first,
        shim_session({**env, "CWAY_USERNAME": ALICE}) as second,
    ):
        await sign_in(first, emu, ALICE)
        before = emu.counters
        # Both first requests must meet the refused token: hold Cway's token endpoint until both
        # 401s have happened, so neither shim can retry (and eat the other's 401) before that.
        graphql = EndpointGate(monkeypatch, "graphql", hold=False)
        refresh = EndpointGate(monkeypatch)
        emu.knobs.fail("graphql", "401", count=2)
        calls = asyncio.gather(first.ok("list_projects"), second.ok("list_projects"))
        await graphql.arrived(2)
        await refresh.arrived(1)
        refresh.release()
        results = await calls
        after = emu.counters
    assert all("Packaging Redesign" in text_of(r) for r in results)
    assert delta(before, after, "cway_token_refresh") == 1
    assert delta(before, after, "graphql") == 4


async def test_a_second_401_is_reported_not_looped_on(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon
) -> None:
    async with shim_session({**env, "CWAY_USERNAME": ALICE}) as shim:
        await sign_in(shim, emu, ALICE)
        before = emu.counters
        emu.knobs.fail("graphql", "401", count=5)
        text = await shim.error("list_projects")
        after = emu.counters
        emu.knobs.update({"clear_failures": True})
    assert "refused the access token for alice@contoso.example even after refreshing it (HTTP 401)" in text
    assert "login" in text
    assert delta(before, after, "cway_token_refresh") == 1
    assert delta(before, after, "graphql") == 2


async def test_a_revoked_sign_in_answers_with_the_sign_in_url(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon
) -> None:
    async with shim_session({**env, "CWAY_USERNAME": ALICE}) as shim:
        await sign_in(shim, emu, ALICE)
        await shim.ok("list_projects")
        emu.revoke_user(ALICE)  # e.g. a password reset: the access token is refused, the refresh too
        text = await shim.error("list_projects")
        listed = await shim.ok("list_authenticated_users")
    assert "Cway sign-in needed for alice@contoso.example" in text
    assert "/sign-in/" in text and "login_hint" not in text  # the short local link, no personal data
    assert "complete_login" in text
    assert listed.structured_content is not None
    assert listed.structured_content["accounts"][0]["state"] == "needs_sign_in"
    assert "needs to sign in again" in text_of(listed)


async def test_cway_outage_is_short_and_specific(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon
) -> None:
    async with shim_session({**env, "CWAY_USERNAME": ALICE}) as shim:
        await sign_in(shim, emu, ALICE)
        emu.knobs.fail("graphql", "503")
        text = await shim.error("list_projects")
    assert "Cway answered HTTP 503 Service Unavailable for alice@contoso.example" in text


async def test_static_mode_needs_no_daemon(emu: EmulatorServer, env: dict[str, str]) -> None:
    token = emu.issue_static_token(ALICE)
    static_env = {**env, "AUTH_METHOD": "static", "CWAY_API_TOKEN": token, "CWAY_MCP_AUTOSTART": "1"}
    async with shim_session(static_env) as shim:
        projects = await shim.ok("list_projects")
        texts = [await shim.error(tool) for tool in ("login", "whoami", "logout", "list_authenticated_users")]
        texts.append(await shim.error("complete_login", {"redirect_url": "http://localhost:1/callback?code=x"}))
        transcript = shim.transcript
    assert "Packaging Redesign" in text_of(projects)
    for text in texts:
        assert "not available: this server runs with AUTH_METHOD=static" in text
        assert "AUTH_METHOD=oauth2" in text
    assert not any(secrets_in(t, [token]) for t in transcript)
    assert not Path(env["CWAY_MCP_SOCKET"]).exists()  # nothing was autostarted


async def test_static_mode_with_a_revoked_token(emu: EmulatorServer, env: dict[str, str]) -> None:
    static_env = {**env, "AUTH_METHOD": "static", "CWAY_API_TOKEN": "cway-static-not-a-real-token"}
    async with shim_session(static_env) as shim:
        text = await shim.error("list_projects")
    assert "refused CWAY_API_TOKEN (HTTP 401)" in text
    assert "cway-static-not-a-real-token" not in text


@pytest.mark.parametrize("answer", ["graphql_error", "null_login_info"])
async def test_a_graphql_level_refusal_counts_as_a_401(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon, answer: str
) -> None:
    # A Cway that answers a bad bearer with HTTP 200 and errors[].extensions.code UNAUTHENTICATED.
    emu.knobs.update({"cway_unauthenticated": answer})
    async with shim_session({**env, "CWAY_USERNAME": ALICE}) as shim:
        await sign_in(shim, emu, ALICE)
        before = emu.counters
        emu.knobs.fail("graphql", "401")
        projects = await shim.ok("list_projects")
        after = emu.counters
        emu.knobs.fail("graphql", "401", count=5)
        text = await shim.error("list_projects")
        emu.knobs.update({"clear_failures": True})
    assert "Packaging Redesign" in text_of(projects)
    assert delta(before, after, "cway_token_refresh") == 1 and delta(before, after, "graphql") == 2
    assert "even after refreshing it (GraphQL UNAUTHENTICATED)" in text
