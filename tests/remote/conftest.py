"""Fixtures for ``cway-mcp serve``: one real PostgreSQL cluster per test session (per xdist worker),
a fresh database per test, the emulator, a hermetic environment for the replicas, and an https
server on loopback serving one client's metadata document (Client ID Metadata Document clients)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from cway_emulator.server import EmulatorServer
from tests.helpers.balancer import serving
from tests.helpers.daemon import free_port, short_tmpdir
from tests.helpers.postgres import PgCluster, temporary_cluster
from tests.helpers.remote import REDIRECT_URI, remote_env
from tests.helpers.tls import self_signed


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    try:
        with temporary_cluster() as cluster:
            yield cluster
    except LookupError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def database_url(pg_cluster: PgCluster) -> str:
    return pg_cluster.create_database()


@pytest.fixture
def store_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def base_dir() -> Iterator[Path]:
    base = short_tmpdir("cw-remote-")
    yield base
    import shutil

    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def public_port() -> int:
    return free_port()


@pytest.fixture
def serve_env(
    base_dir: Path, emu: EmulatorServer, database_url: str, store_key: str, public_port: int
) -> dict[str, str]:
    public = f"http://127.0.0.1:{public_port}"
    emu.register_redirect_uri(public + "/oauth/callback")
    return remote_env(base_dir, emu.env(), public_url=public, database_url=database_url, key=store_key)


@dataclass
class MetadataHost:
    """The document's URL (the client id), the certificate to trust (``SSL_CERT_FILE``), and one
    entry per request the server received (what a test counts: was the document fetched?)."""

    url: str
    cert: Path
    fetches: list[str] = field(default_factory=list)


@pytest.fixture
def metadata_host(base_dir: Path) -> Iterator[MetadataHost]:
    """An https server on loopback serving one client's metadata document at /client.json."""
    cert, key = self_signed(base_dir)
    port = free_port()
    host = MetadataHost(f"https://127.0.0.1:{port}/client.json", cert)
    document = {
        "client_id": host.url,
        "client_name": "Metadata-document client",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }

    def serve(request: Request) -> JSONResponse:
        host.fetches.append(request.url.path)
        return JSONResponse(document)

    with serving(Starlette(routes=[Route("/client.json", serve)]), port, cert=cert, key=key):
        yield host
