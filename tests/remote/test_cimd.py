"""Client ID Metadata Documents: the SDK's OAuth client identifies itself by the https URL of its own
metadata instead of registering; the server fetches the document (over real TLS on loopback, trusted
through ``SSL_CERT_FILE``), checks it, and the whole sign-in and a tool call work as that client."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import OAuthClientMetadata
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from cway_emulator.fixtures import ALICE
from tests.helpers.daemon import free_port
from tests.helpers.remote import REDIRECT_URI, McpSession, MemoryTokenStorage, OAuthBrowser, start_replica
from tests.helpers.tls import self_signed

pytestmark = pytest.mark.slow


@pytest.fixture
def metadata_host(base_dir: Path) -> Iterator[tuple[str, Path]]:
    """An https server on loopback serving one client's metadata document at /client.json."""
    cert, key = self_signed(base_dir)
    port = free_port()
    url = f"https://127.0.0.1:{port}/client.json"
    document = {
        "client_id": url,
        "client_name": "Metadata-document client",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }
    app = Starlette(routes=[Route("/client.json", lambda _: JSONResponse(document))])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, ssl_certfile=str(cert), ssl_keyfile=str(key), log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield url, cert
    server.should_exit = True
    thread.join(10)


async def test_a_client_identified_by_its_metadata_document_signs_in_without_registering(
    serve_env: dict[str, str], public_port: int, metadata_host: tuple[str, Path]
) -> None:
    metadata_url, cert = metadata_host
    replica = start_replica({**serve_env, "SSL_CERT_FILE": str(cert)}, public_port)
    try:
        url = replica.url + "/mcp"
        browser, storage = OAuthBrowser(ALICE), MemoryTokenStorage()
        provider = OAuthClientProvider(
            url,
            OAuthClientMetadata(redirect_uris=[REDIRECT_URI], token_endpoint_auth_method="none"),  # type: ignore[list-item]
            storage,
            redirect_handler=browser.redirect_handler,
            callback_handler=browser.callback_handler,
            client_metadata_url=metadata_url,
        )
        async with McpSession(url, provider) as session:
            me = await session.call_tool("whoami", {})
            assert me.structured_content is not None and me.structured_content["username"] == ALICE
        assert storage.client_info is not None and storage.client_info.client_id == metadata_url
    finally:
        replica.stop()
    events = [json.loads(line) for line in replica.log_text().splitlines() if '"audit"' in line]
    names = [e["audit"] for e in events]
    assert "client_metadata_fetched" in names and "client_registered" not in names
