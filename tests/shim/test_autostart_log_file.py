"""Autostart's log file: a planted symlink or someone else's file is refused before a byte is written."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from cway_contract.daemon_client import DaemonClient, DaemonUnavailable
from cway_mcp_shim.autostart import DaemonLauncher
from tests.helpers.daemon import daemon_env, settings_from_env


@pytest.fixture
def launcher(tmp_path: Path) -> DaemonLauncher:
    env = daemon_env(base=tmp_path, extra={"CWAY_MCP_AUTOSTART": "1"})
    settings = settings_from_env(env)
    return DaemonLauncher(settings, DaemonClient(settings.socket_path, timeout=1), wait_seconds=1)


async def _start(launcher: DaemonLauncher) -> str:
    with pytest.raises(ToolError) as caught:
        await launcher.ensure_running(DaemonUnavailable("no daemon"))
    return str(caught.value)


async def test_a_symlink_planted_as_daemon_log_is_not_followed(launcher: DaemonLauncher, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    os.chmod(victim, 0o644)
    launcher.log_path.parent.mkdir(mode=0o700, parents=True)
    launcher.log_path.symlink_to(victim)
    message = await _start(launcher)
    assert "symbolic link" in message
    assert victim.read_text() == "precious\n"  # nothing appended...
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644  # ...and its mode untouched
    assert await launcher.answers() is False  # and no daemon was started


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
async def test_someone_elses_daemon_log_is_refused_before_any_write(launcher: DaemonLauncher) -> None:
    launcher.log_path.parent.mkdir(mode=0o700, parents=True)
    launcher.log_path.write_text("theirs\n")
    os.chmod(launcher.log_path, 0o644)
    os.chown(launcher.log_path, 65534, 65534)
    message = await _start(launcher)
    assert "belongs to uid 65534" in message
    assert launcher.log_path.read_text() == "theirs\n"
    assert stat.S_IMODE(launcher.log_path.stat().st_mode) == 0o644


async def test_a_hard_link_planted_as_daemon_log_is_refused(launcher: DaemonLauncher, tmp_path: Path) -> None:
    other = tmp_path / "other.txt"
    other.write_text("keep\n")
    os.chmod(other, 0o644)
    launcher.log_path.parent.mkdir(mode=0o700, parents=True)
    os.link(other, launcher.log_path)
    assert "hard links" in await _start(launcher)
    assert other.read_text() == "keep\n" and stat.S_IMODE(other.stat().st_mode) == 0o644
