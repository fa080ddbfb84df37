"""The end-to-end tier run against the installed wheel, the way tox and nox test a package.

Every process under test is started from the virtual environment that installed the wheel
(``installed.exe("cway-auth")``, ``installed.exe("cway-mcp")``), with its working directory
outside the repository and no ``PYTHONPATH``: what runs is what a user installed, and a file the
wheel lacks fails here even though the repository has it. The emulator (never in the wheel) and
PostgreSQL are the outside world: they run from the repository and the machine, as before.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from cway_emulator.server import EmulatorServer
from tests.helpers.artifacts import InstalledVenv
from tests.helpers.daemon import RunningDaemon, daemon_env, running_daemon
from tests.helpers.postgres import PgCluster, temporary_cluster
from tests.helpers.summary import ARTIFACT_TOPIC, summary_line


@pytest.fixture(autouse=True)
def _from_the_install(
    installed: InstalledVenv, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> InstalledVenv:
    """No process a test spawns gets the repository on its path (process_env copies os.environ)."""
    monkeypatch.delenv("PYTHONPATH", raising=False)
    summary_line(request, ARTIFACT_TOPIC, f"ran from the installed wheel {installed.describe()}")
    return installed


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(auto_approve=True) as server:
        yield server


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    try:
        with temporary_cluster() as cluster:
            yield cluster
    except LookupError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def installed_daemon(emu: EmulatorServer, installed: InstalledVenv) -> Iterator[RunningDaemon]:
    """``cway-auth daemon`` from the installed venv, against the emulator."""
    env = daemon_env(emu.env())
    emu.register_redirect_uri(env["AZURE_REDIRECT_URI"])
    try:
        with running_daemon(env, mode="process", command=[str(installed.exe("cway-auth"))]) as daemon:
            yield daemon
    finally:
        shutil.rmtree(env["CWAY_TEST_BASE"], ignore_errors=True)
