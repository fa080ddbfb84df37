"""Uploads through ``cway-mcp serve``: the server's disk is not the person's, so a path is refused and the
content is taken instead (base64), to the same presigned storage and the same attach mutation."""

from __future__ import annotations

import base64
import hashlib

import pytest

from cway_emulator.fixtures import ALICE, ARTWORK_IDS
from cway_emulator.server import EmulatorServer
from tests.helpers.remote import (
    McpSession,
    MemoryTokenStorage,
    OAuthBrowser,
    oauth_client,
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
        # The SDK's OAuth client, which steps up to the write scope when the upload asks for it.
        async with McpSession(url, oauth_client(url, OAuthBrowser(ALICE), MemoryTokenStorage())) as session:
            by_path = await session.call_tool(
                "upload_file", {"attach_to": "new_revision", "path": "/etc/passwd", "artwork_id": ARTWORK_IDS[5]}
            )
            by_content = await session.call_tool(
                "upload_file", {"attach_to": "new_revision", "artwork_id": ARTWORK_IDS[5],
                                "content_base64": base64.b64encode(PDF).decode(), "filename": "back-v3.pdf"},
            )  # fmt: skip
    finally:
        replica.stop()
    assert by_path.is_error and "cannot read files from your computer" in str(by_path.content[0])
    assert not by_content.is_error, by_content.content
    done = by_content.structured_content or {}
    stored = emu.emulator.store.files[done["file_id"]]
    assert stored["_sha256"] == hashlib.sha256(PDF).hexdigest()
    assert emu.emulator.store.artworks[ARTWORK_IDS[5]]["_revisions"][-1]["name"] == "back-v3.pdf"
