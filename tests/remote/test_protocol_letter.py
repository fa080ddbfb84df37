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
