"""Client ID Metadata Documents: the SDK's OAuth client identifies itself by the https URL of its own
metadata instead of registering; the server fetches the document (over real TLS on loopback, trusted
through ``SSL_CERT_FILE``), checks it, and the whole sign-in and a tool call work as that client."""

from __future__ import annotations

import json

import pytest

from cway_emulator.fixtures import ALICE
from tests.helpers.remote import sign_in_by_document, start_replica
from tests.remote.conftest import MetadataHost

pytestmark = pytest.mark.slow


async def test_a_client_identified_by_its_metadata_document_signs_in_without_registering(
    serve_env: dict[str, str], public_port: int, metadata_host: MetadataHost
) -> None:
    metadata_url, cert = metadata_host.url, metadata_host.cert
    replica = start_replica({**serve_env, "SSL_CERT_FILE": str(cert)}, public_port)
    try:
        await sign_in_by_document(replica, ALICE, metadata_url)
    finally:
        replica.stop()
    events = [json.loads(line) for line in replica.log_text().splitlines() if '"audit"' in line]
    names = [e["audit"] for e in events]
    assert "client_metadata_fetched" in names and "client_registered" not in names
