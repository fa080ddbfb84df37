"""``cway-auth service install`` from the installed venv writes units ``systemd-analyze verify`` accepts.

The templates are package data (``cway_authd/service_templates/``) and ``ExecStart`` must name the
installed ``cway-auth``: both only show from an install. No service manager is reachable (PATH
holds no ``systemctl``), so the command writes the files and says how to enable them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cway_authd.cli import service
from tests.daemon_server.test_service import SYSTEMD_ANALYZE, analyze
from tests.helpers.artifacts import InstalledVenv
from tests.helpers.daemon import short_tmpdir

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed (Debian: systemd)"),
]


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """Short: systemd-analyze loads the machine's user units, whose sockets live under XDG_RUNTIME_DIR."""
    base = short_tmpdir("cw-units-")
    yield base
    shutil.rmtree(base, ignore_errors=True)


def test_the_installed_cli_writes_units_that_verify(installed: InstalledVenv, short_tmp: Path) -> None:
    tmp_path = short_tmp
    home, empty_bin = tmp_path / "home", tmp_path / "bin"
    home.mkdir()
    empty_bin.mkdir()
    env = {"HOME": str(home), "PATH": str(empty_bin), "XDG_CONFIG_HOME": str(home / ".config")}
    done = subprocess.run(
        [str(installed.exe("cway-auth")), "service", "install", "--target", "systemd"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    units = home / ".config" / "systemd" / "user"
    assert {p.name for p in units.iterdir()} == {service.SYSTEMD_UNIT, service.SYSTEMD_SOCKET}
    exec_start = [
        line for line in (units / service.SYSTEMD_UNIT).read_text().splitlines() if line.startswith("ExecStart=")
    ]
    assert exec_start and exec_start[0].split("=", 1)[1].split()[0] == str(installed.exe("cway-auth"))
    verified = analyze(
        tmp_path, "verify", "--user", f"./{service.SYSTEMD_SOCKET}", f"./{service.SYSTEMD_UNIT}", cwd=units
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stderr.strip() == "", verified.stderr  # no warnings either
    assert os.stat(units / service.SYSTEMD_UNIT).st_size > 0
