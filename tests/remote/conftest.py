"""Fixtures for ``cway-mcp serve``: one real PostgreSQL cluster per test session (per xdist worker),
a fresh database per test, the emulator, and a hermetic environment for the replicas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from cway_emulator.server import EmulatorServer
from tests.helpers.daemon import free_port, short_tmpdir
from tests.helpers.postgres import PgCluster, temporary_cluster
from tests.helpers.remote import remote_env


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
