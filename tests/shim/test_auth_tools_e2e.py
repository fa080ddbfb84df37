"""The sign-in tools through a real MCP client session, against the real daemon and the emulator."""

from __future__ import annotations

import asyncio
import contextlib
import re

import httpx
import pytest
from mcp_types import URL_ELICITATION_REQUIRED

from cway_contract.daemon_client import DaemonClient, DaemonError
from cway_emulator.server import EmulatorServer
from tests.helpers.daemon import RunningDaemon
from tests.shim.harness import Shim, secrets_in, shim_session, sign_in, text_of

pytestmark = pytest.mark.slow

ALICE = "alice@contoso.example"
BOB = "bob@fabrikam.example"
AUTH_TOOLS = {"login", "complete_login", "logout", "whoami", "list_authenticated_users"}


async def known_tokens(emu: EmulatorServer, daemon: RunningDaemon, *usernames: str) -> list[str]:
    """Every refresh token the emulator issued, and each account's current access token."""
    tokens = list(emu.emulator.cway.refresh)
    async with DaemonClient(daemon.socket_path) as client:
        for name in usernames:
            with contextlib.suppress(DaemonError):  # not signed in (any more): nothing to collect
                tokens.append((await client.bearer(name)).access_token)
    assert tokens, "nothing to look for: the check would pass vacuously"
    return tokens


def assert_no_secrets(shim: Shim, tokens: list[str]) -> None:
    for text in shim.transcript:
        assert not secrets_in(text, tokens), f"a token reached the client: {text[:200]}"


async def test_tool_list_carries_annotations_and_schemas(env: dict[str, str], daemon: RunningDaemon) -> None:
    async with shim_session(env) as shim:
        tools = {t.name: t for t in (await shim.session.list_tools()).tools}
    assert AUTH_TOOLS <= set(tools)
    assert "list_projects" in tools  # the Cway tools are registered by the same server
    for name in AUTH_TOOLS:
        assert tools[name].annotations is not None, name
        assert tools[name].output_schema is not None, name
    assert tools["whoami"].annotations.read_only_hint is True  # type: ignore[union-attr]
    assert tools["logout"].annotations.destructive_hint is True  # type: ignore[union-attr]
    assert "username" in tools["login"].input_schema["properties"]
    assert {"redirect_url", "authorization_code", "state"} <= set(tools["complete_login"].input_schema["properties"])


async def test_sign_in_whoami_list_logout(emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon) -> None:
    async with shim_session({**env, "CWAY_USERNAME": ALICE}) as shim:
        before = await shim.error("whoami")
        assert "Cway sign-in needed for alice@contoso.example" in before
        assert "/sign-in/" in before and "login_hint" not in before  # the short link: no personal data
        assert "complete_login" in before

        login = await shim.ok("login")
        assert login.structured_content is not None
        link = login.structured_content["sign_in_url"]
        assert login.structured_content["browser_opened"] is False  # CWAY_MCP_OPEN_BROWSER=0
        # MCP forbids personal data in a URL handed to the client: a short local link, which leads to Entra
        # with every parameter (login_hint included).
        assert link.startswith("http://localhost:") and "/sign-in/" in link and "alice" not in link
        assert link in text_of(login)
        async with httpx.AsyncClient(trust_env=False) as http:
            hop = await http.get(link)
        assert hop.status_code == 303 and hop.headers["location"].startswith(emu.authorize_url)
        assert "login_hint=alice%40contoso.example" in hop.headers["location"]

        await sign_in(shim, emu, ALICE)
        who = await shim.ok("whoami")
        assert who.structured_content is not None
        assert who.structured_content["username"] == ALICE
        assert who.structured_content["name"] == "Alice Andersson"
        assert who.structured_content["organisation_name"] == "Contoso Print"
        assert 3000 < who.structured_content["access_seconds_remaining"] <= 3600
        assert "Organisation: Contoso Print" in text_of(who)
        assert re.search(r"\(5\dm \d+s left\)", text_of(who)), text_of(who)  # the access token's hour
        # Cway's answer does not say how long its refresh token lives, so no made-up expiry is shown.
        assert "Sign-in: renewed silently for as long as Cway accepts it" in text_of(who), text_of(who)

        listed = await shim.ok("list_authenticated_users")
        assert listed.structured_content is not None
        assert [a["username"] for a in listed.structured_content["accounts"]] == [ALICE]
        assert listed.structured_content["accounts"][0]["state"] == "ok"

        projects = await shim.ok("list_projects")
        assert "Packaging Redesign" in text_of(projects)

        tokens = await known_tokens(emu, daemon, ALICE)
        bye = await shim.ok("logout")
        assert bye.structured_content is not None
        assert bye.structured_content["username"] == ALICE
        assert bye.structured_content["removed"] is True

        assert (await shim.ok("list_authenticated_users")).structured_content == {"count": 0, "accounts": []}
        assert "alice@contoso.example is not signed in on this machine" in await shim.error("logout")
        assert "Cway sign-in needed" in await shim.error("list_projects")
        assert_no_secrets(shim, tokens)


async def test_complete_login_for_a_headless_machine(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon
) -> None:
    async with shim_session(env) as shim:
        assert "Pass redirect_url" in await shim.error("complete_login")
        login = await shim.ok("login", {"username": ALICE})
        assert login.structured_content is not None
        # The browser could not reach localhost: the person copies the address it landed on.
        location = await asyncio.to_thread(emu.browser_sign_in, login.structured_content["sign_in_url"], ALICE)
        done = await shim.ok("complete_login", {"redirect_url": location})
        assert done.structured_content is not None
        assert done.structured_content["state"] == "completed"
        assert done.structured_content["username"] == ALICE
        assert text_of(done) == f"Signed in to Cway as {ALICE}."
        # The same code twice is refused, and says what to do.
        again = await shim.error("complete_login", {"redirect_url": location})
        assert "login" in again
        forged = await shim.error("complete_login", {"authorization_code": "abc", "state": "forged"})
        assert "login" in forged
        who = await shim.ok("whoami")  # the only signed-in account is the default
        assert who.structured_content is not None and who.structured_content["username"] == ALICE
        assert_no_secrets(shim, await known_tokens(emu, daemon, ALICE))


async def test_several_accounts_need_a_username(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon
) -> None:
    async with shim_session(env) as shim:
        await sign_in(shim, emu, ALICE)
        await sign_in(shim, emu, "dave@contoso.example")
        text = await shim.error("whoami")
        assert "Several Cway accounts are signed in" in text
        assert ALICE in text and "dave@contoso.example" in text
        assert "CWAY_USERNAME" in text
        assert "Several Cway accounts" in await shim.error("logout")
        who = await shim.ok("whoami", {"username": "dave@contoso.example"})
        assert who.structured_content is not None and who.structured_content["name"] == "Dave Dahl"
        listed = await shim.ok("list_authenticated_users")
        assert listed.structured_content is not None and listed.structured_content["count"] == 2


async def test_nobody_signed_in_and_no_username_offers_a_sign_in(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon
) -> None:
    async with shim_session(env) as shim:
        text = await shim.error("list_projects")
    assert "Cway sign-in needed" in text
    assert "/sign-in/" in text and "login_hint" not in text  # the short local link, no personal data


async def test_url_elicitation_only_for_clients_that_declare_it(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon
) -> None:
    async with shim_session({**env, "CWAY_USERNAME": ALICE}, url_elicitation=True) as shim:
        error = await shim.protocol_error("list_projects")
    assert error.code == URL_ELICITATION_REQUIRED
    (elicitation,) = error.data["elicitations"]
    assert elicitation["mode"] == "url"
    # URL-mode elicitation forbids personal data in the URL: the short local link, not Entra's with login_hint.
    assert "/sign-in/" in elicitation["url"] and "alice" not in elicitation["url"]
    assert elicitation["elicitationId"]
    assert "complete_login" in elicitation["message"]
    # A client without the capability gets the same instructions as a plain tool error.
    async with shim_session({**env, "CWAY_USERNAME": ALICE}) as shim:
        assert "/sign-in/" in await shim.error("list_projects")
