"""The remote authorization server to the letter of MCP 2026-07-28: RFC 9207 ``iss`` on every
authorization response, advertised in the metadata, and checked by the SDK's own OAuth client."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from cway_emulator.fixtures import ALICE, BOB
from tests.helpers.remote import (
    REDIRECT_URI,
    McpSession,
    MemoryTokenStorage,
    OAuthBrowser,
    oauth_client,
    post_tool_call,
    start_replica,
)

pytestmark = pytest.mark.slow


async def test_iss_in_every_authorization_response_and_in_the_metadata(
    serve_env: dict[str, str], public_port: int
) -> None:
    replica = start_replica(serve_env, public_port)
    try:
        metadata = httpx.get(replica.url + "/.well-known/oauth-authorization-server").json()
        assert metadata["authorization_response_iss_parameter_supported"] is True
        issuer = metadata["issuer"]

        # The code: the SDK client (which rejects a missing iss once advertised) signs in and calls a tool.
        url = replica.url + "/mcp"
        browser, storage = OAuthBrowser(ALICE), MemoryTokenStorage()
        async with McpSession(url, oauth_client(url, browser, storage)) as session:
            me = await session.call_tool("whoami", {})
            assert not me.is_error and me.structured_content is not None
        assert browser.last_redirect is not None and browser.last_redirect.startswith(REDIRECT_URI)
        assert parse_qs(urlsplit(browser.last_redirect).query)["iss"] == [issuer]
        assert storage.client_info is not None
        client_id = storage.client_info.client_id

        # An error the SDK's /authorize handler redirects with (a scope nobody offers) names the issuer too.
        query = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "code_challenge": "x" * 43,
            "code_challenge_method": "S256",
            "state": "s1",
            "scope": "not-a-scope",
        }
        refused = httpx.get(replica.url + "/authorize", params=query)
        assert refused.is_redirect, refused.text
        answer = parse_qs(urlsplit(refused.headers["location"]).query)
        assert answer["error"] == ["invalid_scope"] and answer["iss"] == [issuer] and answer["state"] == ["s1"]

        # A person who denies on the consent page: the error response carries iss as well.
        denier = OAuthBrowser(BOB, approve=False)  # Alice's consent is remembered: no page for her
        query.pop("scope")
        with pytest.raises(AssertionError, match="authorization failed"):
            await denier.sign_in(str(httpx.URL(replica.url + "/authorize", params=query)))
        assert denier.last_redirect is not None
        denied = parse_qs(urlsplit(denier.last_redirect).query)
        assert denied["error"] == ["access_denied"] and denied["iss"] == [issuer]
    finally:
        replica.stop()


POSTER = "0000000d-0000-4000-8000-000000000001"  # Alice approves it (FOR_REVIEW)


async def test_step_up_read_by_default_write_on_demand_through_the_sdk_client(
    serve_env: dict[str, str], public_port: int
) -> None:
    replica = start_replica(serve_env, public_port)
    try:
        url = replica.url + "/mcp"
        assert httpx.get(replica.url + "/.well-known/oauth-authorization-server").json()["scopes_supported"] == [
            "cway",
            "cway.write",
        ]
        browser, storage = OAuthBrowser(ALICE), MemoryTokenStorage()
        async with McpSession(url, oauth_client(url, browser, storage)) as session:
            assert not (await session.call_tool("list_projects", {})).is_error
            assert storage.tokens is not None and storage.tokens.scope == "cway"  # read by default
            read_token = storage.tokens.access_token

            # A write tool with the read token: 403 insufficient_scope naming the scope to ask for.
            async with httpx.AsyncClient(timeout=30) as http:
                refused = await post_tool_call(http, url, read_token, "approve_artwork", {"artwork_id": POSTER})
                assert refused.status_code == 403, refused.text
                challenge = refused.headers["www-authenticate"]
                assert 'error="insufficient_scope"' in challenge and 'scope="cway cway.write"' in challenge
                assert "resource_metadata=" in challenge
                still_reads = await post_tool_call(http, url, read_token, "get_artwork", {"artwork_id": POSTER})
                assert still_reads.status_code == 200

            # The SDK client steps up by itself: a second authorization (a consent page for the wider
            # scope), a new token, and the retried call goes through.
            approved = await session.call_tool("approve_artwork", {"artwork_id": POSTER})
            assert not approved.is_error, approved.content
            assert approved.structured_content is not None
            assert approved.structured_content["artworks"][0]["state"] == "APPROVED"
            assert storage.tokens.scope is not None and set(storage.tokens.scope.split()) == {"cway", "cway.write"}
            assert storage.tokens.access_token != read_token
        assert sum(1 for u in browser.visited if urlsplit(u).path == "/consent") == 2  # consent is per scope set
    finally:
        replica.stop()
