"""The wheel a user installs: everything the daemon, the shim and the remote server need, and no emulator.

Both wheels are checked: the one built from the sdist (what an index serves) and the one built from
the tree (what ``pip install .`` builds); the run builds them once (``tests/helpers/artifacts.py``).
"""

from __future__ import annotations

import zipfile

import pytest

from tests.helpers.artifacts import Dists
from tests.helpers.repo import REPO


@pytest.fixture(scope="module", params=["wheel", "tree_wheel"])
def wheel(request: pytest.FixtureRequest, dists: Dists) -> tuple[list[str], str]:
    """The wheel's file names, and its METADATA."""
    with zipfile.ZipFile(getattr(dists, request.param)) as archive:
        names = archive.namelist()
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        return names, archive.read(metadata).decode()


@pytest.mark.slow
def test_the_wheel_holds_no_emulator(wheel: tuple[list[str], str]) -> None:
    names, _ = wheel
    assert [n for n in names if "cway_emulator" in n] == []
    assert (REPO / "daemon" / "cway_emulator" / "__init__.py").is_file()  # it is still in the repository


@pytest.mark.slow
def test_the_wheel_holds_what_users_run(wheel: tuple[list[str], str]) -> None:
    names, metadata = wheel
    for path in (
        "cway_authd/cli/__init__.py",
        "cway_authd/py.typed",
        "cway_authd/service_templates/cway-mcp-daemon.service",
        "cway_mcp_shim/__main__.py",
        "cway_contract/data/schema.graphql",
        "cway_remote/serve.py",
    ):
        assert path in names
    assert "License-Expression: MIT" in metadata.splitlines()
    extras = {line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Provides-Extra:")}
    assert extras == {"remote", "test", "dev"}  # no "emulator" extra
    assert "authlib" not in metadata.lower()
