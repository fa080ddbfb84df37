"""Uploads through ``cway-mcp serve``: the server's disk is not the person's, so a path is refused and the
content is taken instead (base64), to the same presigned storage and the same attach mutation."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest

from cway_emulator.fixtures import ALICE, ARTWORK_IDS
from cway_emulator.server import EmulatorServer
from tests.helpers.remote import (
    McpSession,
    MemoryTokenStorage,
    OAuthBrowser,
    oauth_client,
    post_tool_call,
    start_replica,
)

pytestmark = pytest.mark.slow

PDF = b"%PDF-1.7\n" + b"0123456789" * 5000 + b"\n%%EOF\n"


async def test_serve_refuses_a_path_and_takes_content(
    serve_env: dict[str, str], public_port: int, emu: EmulatorServer
) -> None:
    replica = start_replica(serve_env, public_port)
    try:
        url = replica.url + "/mcp"
        storage = MemoryTokenStorage()
        async with McpSession(url, oauth_client(url, OAuthBrowser(ALICE), storage)):
            pass
        assert storage.tokens is not None
        token = storage.tokens.access_token
        async with httpx.AsyncClient(timeout=30) as http:
            by_path = await post_tool_call(
                http, url, token, "upload_file", {"attach_to": "new_revision", "path": "/etc/passwd",
                                                  "artwork_id": ARTWORK_IDS[5]},
            )  # fmt: skip
            by_content = await post_tool_call(
                http, url, token, "upload_file", {"attach_to": "new_revision", "artwork_id": ARTWORK_IDS[5],
                                                  "content_base64": base64.b64encode(PDF).decode(),
                                                  "filename": "back-v3.pdf"},
            )  # fmt: skip
    finally:
        replica.stop()
    refused = by_path.json()["result"]
    assert refused["isError"] and "cannot read files from your computer" in refused["content"][0]["text"]
    done = by_content.json()["result"]
    assert not done.get("isError"), done
    stored = emu.emulator.store.files[done["structuredContent"]["file_id"]]
    assert stored["_sha256"] == hashlib.sha256(PDF).hexdigest()
    assert emu.emulator.store.artworks[ARTWORK_IDS[5]]["_revisions"][-1]["name"] == "back-v3.pdf"
