"""The whole MCP authorization story against a real ``cway-mcp serve``, the emulator and PostgreSQL.

The mcp SDK's own OAuth client (``mcp.client.auth``) discovers the metadata, registers itself,
runs PKCE; the test's "browser" approves the consent page and signs in at the emulated Entra;
the server exchanges at Cway and issues its own tokens. Then tools run as the right user.
"""

from __future__ import annotations

import httpx
import pytest

from cway_emulator.fixtures import ALICE, BOB
from tests.helpers.remote import McpSession, MemoryTokenStorage, OAuthBrowser, oauth_client, start_replica

pytestmark = pytest.mark.slow


async def test_two_users_sign_in_with_the_sdk_client_and_act_as_themselves(
    serve_env: dict[str, str], public_port: int
) -> None:
    replica = start_replica(serve_env, public_port)
    try:
        url = replica.url + "/mcp"
        # Unauthenticated: 401 with the RFC 9728 pointer to the Protected Resource Metadata.
        answer = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert answer.status_code == 401
        assert "resource_metadata=" in answer.headers["www-authenticate"]

        sessions = {}
        for user in (ALICE, BOB):
            browser, storage = OAuthBrowser(user), MemoryTokenStorage()
            async with McpSession(url, oauth_client(url, browser, storage)) as session:
                tools = await session.list_tools()
                assert any(t.name == "list_projects" for t in tools.tools)
                me = await session.call_tool("whoami", {})
                assert not me.is_error, me
                assert me.structured_content is not None and me.structured_content["username"] == user
                result = await session.call_tool("list_projects", {})
                assert not result.is_error, result
                if user == ALICE:  # an AI answer arrives over a GraphQL subscription, with the same bearer
                    ai = await session.call_tool(
                        "analyze_artwork", {"artwork_id": "0000000d-0000-4000-8000-000000000001"}
                    )
                    assert not ai.is_error, ai
                    assert ai.structured_content is not None and "Poster A2" in ai.structured_content["result"]
                sessions[user] = (storage, result.structured_content)
                assert storage.tokens is not None
                # no passthrough: the client holds only this server's tokens
                assert storage.tokens.access_token.startswith("cwm_at_")
                assert "consent" in browser.visited[0]
        assert sessions[ALICE][1] != sessions[BOB][1]  # different organisations see different projects

        # Acting as someone else by naming them is refused.
        storage = sessions[ALICE][0]
        assert storage.tokens is not None
        async with McpSession(url, headers={"Authorization": f"Bearer {storage.tokens.access_token}"}) as session:
            refused = await session.call_tool("list_projects", {"username": BOB})
            assert refused.is_error
            assert "signed-in user" in str(refused.content)

        # Refresh tokens rotate; a used one presented again revokes the whole family (theft detection).
        assert storage.tokens is not None and storage.client_info is not None
        old = storage.tokens.refresh_token
        assert old is not None
        form = {"grant_type": "refresh_token", "refresh_token": old, "client_id": storage.client_info.client_id}
        rotated = httpx.post(replica.url + "/token", data=form)
        assert rotated.status_code == 200, rotated.text
        fresh = rotated.json()
        assert fresh["refresh_token"] != old and fresh["access_token"].startswith("cwm_at_")
        reused = httpx.post(replica.url + "/token", data=form)
        assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
        probe = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        headers = {"Authorization": f"Bearer {fresh['access_token']}", "Accept": "application/json, text/event-stream"}
        assert httpx.post(url, json=probe, headers=headers).status_code == 401

        # A token this server did not issue (say, a Cway or Entra token) is refused: no passthrough.
        foreign = {"Authorization": "Bearer cway-static-alice-0001", "Accept": "application/json, text/event-stream"}
        assert httpx.post(url, json=probe, headers=foreign).status_code == 401
    finally:
        code = replica.stop()
    assert code == 0  # SIGTERM: a clean stop
    log = replica.log_text()
    assert '"audit":"sign_in_completed"' in log and '"audit":"token_reuse_detected"' in log
    for secret in (old, fresh["access_token"], fresh["refresh_token"], "cway_rt.", "cwm_ac_"):
        assert secret not in log  # structured logs and audit events carry no token or code
