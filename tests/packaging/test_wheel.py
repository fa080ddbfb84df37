"""The wheel a user installs: everything the daemon, the shim and the remote server need, and no emulator.

Built from a copy of the repository with the setuptools installed in this environment (no build
isolation, so no registry is needed), exactly as ``pip install .`` would build it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.helpers.repo import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], str]:
    """The wheel's file names, and its METADATA."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, source / name)
    for folder in ("daemon", "shim"):
        shutil.copytree(REPO / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(out), str(source)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    (wheel,) = out.glob("cway_mcp-*.whl")
    with zipfile.ZipFile(wheel) as archive:
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
        "cway_authd/cli.py",
        "cway_authd/py.typed",
        "cway_authd/service_templates/cway-mcp-daemon.service",
        "cway_mcp_shim/__main__.py",
        "cway_common/data/schema.graphql",
        "cway_remote/serve.py",
    ):
        assert path in names
    assert "License-Expression: MIT" in metadata.splitlines()
    extras = {line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Provides-Extra:")}
    assert extras == {"remote", "test", "dev"}  # no "emulator" extra
    assert "authlib" not in metadata.lower()
