"""``cway-auth service``: the unit files systemd would load, the launchd plist, install/status as a user runs them.

What needs a real user session (``systemctl --user`` with a bus, ``launchctl``) is not available
here; the files themselves are checked with ``systemd-analyze verify`` / ``security`` (they work
on unit files without a running manager), and install/status run with the manager absent.
"""

from __future__ import annotations

import json
import os
import plistlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cway_authd.cli import service
from cway_authd.cli.launchd_plist import render as render_plist
from tests.daemon_server.test_cli import REPO, cli

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed (Debian: systemd)")


def rendered_units(tmp: Path) -> Path:
    """The units as `service install` would write them, for an executable that exists."""
    exe = tmp / "bin" / "cway-auth"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    units = tmp / "units"
    units.mkdir()
    for file in service.plan("systemd", executable=exe, home=tmp / "home").files:
        (units / file.path.name).write_text(file.content)
    return units


def analyze(tmp: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``systemd-analyze ARGS`` run in ``cwd`` (default: ``tmp/units``, where :func:`rendered_units` writes)."""
    assert SYSTEMD_ANALYZE is not None
    runtime = tmp / "xdg-runtime"  # --user needs a runtime dir to exist; nothing is started
    runtime.mkdir(exist_ok=True)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "SYSTEMD_LOG_COLOR": "0"}
    return subprocess.run(
        [SYSTEMD_ANALYZE, *args],
        env=env,
        cwd=cwd or tmp / "units",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@needs_analyze
def test_the_units_verify(tmp_path: Path) -> None:
    rendered_units(tmp_path)
    done = analyze(tmp_path, "verify", "--user", f"./{service.SYSTEMD_SOCKET}", f"./{service.SYSTEMD_UNIT}")
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == ""  # no warnings either (unknown keys are warnings)


@needs_analyze
def test_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    # The check above can fail: a unit whose executable does not exist is refused.
    units = rendered_units(tmp_path)
    (tmp_path / "bin" / "cway-auth").unlink()
    done = analyze(tmp_path, "verify", "--user", f"./{service.SYSTEMD_UNIT}")
    assert done.returncode != 0 and "is not executable" in done.stderr, done.stderr
    assert units.is_dir()


@needs_analyze
def test_the_service_is_hardened(tmp_path: Path) -> None:
    rendered_units(tmp_path)
    done = analyze(tmp_path, "security", "--user", "--offline=true", f"./{service.SYSTEMD_UNIT}")
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout)
    assert match, done.stdout + done.stderr
    assert float(match.group(1)) <= 3.0  # it was 8.1 EXPOSED before the hardening lines


def test_the_units_take_the_socket_and_stop_on_permanent_failures() -> None:
    socket_unit = service.template_text(service.SYSTEMD_SOCKET)
    for line in ("ListenStream=%t/cway-mcp/daemon.sock", "SocketMode=0600", "DirectoryMode=0700"):
        assert line in socket_unit.splitlines()
    unit = service.template_text(service.SYSTEMD_UNIT).splitlines()
    for line in ("Type=notify", "Requires=cway-mcp-daemon.socket", "RestartPreventExitStatus=2 3 4 5"):
        assert line in unit
    assert any(line.startswith("StartLimitBurst=") for line in unit)


@pytest.mark.parametrize("name", [service.SYSTEMD_UNIT, service.SYSTEMD_SOCKET])
def test_packaged_units_match_the_top_level_copies(name: str) -> None:
    assert service.template_text(name) == (REPO / "systemd" / name).read_text(encoding="utf-8")


def test_the_top_level_plist_is_what_the_code_renders() -> None:
    example = render_plist(Path("/Users/you/.local/bin/cway-auth"), Path("/Users/you/Library/Logs/cway-mcp"))
    assert (REPO / "launchd" / "se.cway.mcp.daemon.plist").read_text(encoding="utf-8") == example


def test_the_plist_survives_a_path_with_double_dashes(env: dict[str, str]) -> None:
    # `--` is not allowed inside an XML comment: a path pasted into one broke the file.
    odd = Path(env["CWAY_TEST_BASE"]) / "tools--v2 & <co>" / "cway-auth"
    odd.parent.mkdir()
    odd.symlink_to(_cway_auth())
    done = subprocess.run(
        [str(odd), "service", "install", "--print", "--target", "launchd"],
        env={**os.environ, "HOME": env["HOME"]},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    plist = plistlib.loads(done.stdout.encode())
    log_file = f"{env['HOME']}/Library/Logs/cway-mcp/daemon.log"
    assert plist["ProgramArguments"] == [str(odd), "daemon", "--log-file", log_file]  # the daemon rotates it
    assert plist["KeepAlive"] == {"SuccessfulExit": False}
    assert plist["EnvironmentVariables"]["CWAY_MCP_SUPERVISOR"] == "launchd"
    assert plist["StandardErrorPath"] == log_file


def _cway_auth() -> Path:
    import sys

    exe = Path(sys.executable).parent / "cway-auth"
    if not exe.is_file():
        pytest.skip("the cway-auth console script is not installed next to this interpreter")
    return exe


def no_manager(env: dict[str, str]) -> dict[str, str]:
    empty_bin = Path(env["CWAY_TEST_BASE"]) / "bin"
    empty_bin.mkdir(exist_ok=True)
    return {"PATH": str(empty_bin), "XDG_CONFIG_HOME": str(Path(env["HOME"]) / ".config")}


def test_install_is_idempotent_without_systemctl(env: dict[str, str]) -> None:
    extra = no_manager(env)
    first = cli(env, "service", "install", "--target", "systemd", extra=extra)
    assert first.returncode == 0, first.stderr
    units = Path(env["HOME"]) / ".config" / "systemd" / "user"
    assert {p.name for p in units.iterdir()} == {service.SYSTEMD_UNIT, service.SYSTEMD_SOCKET}
    assert "systemctl --user enable --now cway-mcp-daemon.socket cway-mcp-daemon.service" in first.stdout
    second = cli(env, "service", "install", "--target", "systemd", extra=extra)
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("unchanged ") == 2 and "wrote " not in second.stdout
    status = cli(env, "service", "status", "--target", "systemd", extra=extra)
    assert status.returncode == 0 and "installed:" in status.stdout, status.stdout
    removed = cli(env, "service", "uninstall", "--target", "systemd", extra=extra)
    assert removed.returncode == 0 and list(units.iterdir()) == []


def test_status_says_installed_but_failing_with_the_daemons_last_error(env: dict[str, str]) -> None:
    extra = no_manager(env)
    assert cli(env, "service", "install", "--target", "systemd", extra=extra).returncode == 0
    broken = {k: v for k, v in env.items() if k != "AZURE_CLIENT_ID"}
    daemon = cli(broken, "daemon")
    assert daemon.returncode == 2, daemon.stderr  # configuration error: the unit does not restart it
    status = cli(env, "service", "status", "--target", "systemd", extra=extra)
    assert status.returncode == 1
    assert status.stdout.startswith("installed but failing: configuration error: AZURE_CLIENT_ID=unset"), status.stdout
    assert "exit status 2" in status.stdout
    as_json = json.loads(cli(env, "service", "status", "--target", "systemd", "--json", extra=extra).stdout)
    assert as_json["installed"] is True and as_json["running"] is None
    assert as_json["failing"]["exit_code"] == 2
    assert as_json["failing"]["message"].startswith("configuration error: AZURE_CLIENT_ID=unset")


FAKE_SYSTEMCTL = """#!/bin/sh
# Records how it was called; answers like a user manager where every command succeeds.
echo "$*" >> "$SYSTEMCTL_LOG"
exit 0
"""


@pytest.mark.slow
def test_install_hands_over_from_an_autostarted_daemon(env: dict[str, str]) -> None:
    from tests.helpers.daemon import running_daemon

    bin_dir = Path(env["CWAY_TEST_BASE"]) / "fake-bin"
    bin_dir.mkdir()
    systemctl = bin_dir / "systemctl"
    systemctl.write_text(FAKE_SYSTEMCTL)
    systemctl.chmod(0o755)
    log = Path(env["CWAY_TEST_BASE"]) / "systemctl.log"
    extra = {
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
        "XDG_CONFIG_HOME": str(Path(env["HOME"]) / ".config"),
        "SYSTEMCTL_LOG": str(log),
    }
    with running_daemon(env, mode="process", cleanup=False) as daemon:  # as a shim's autostart leaves it
        done = cli(env, "service", "install", "--target", "systemd", extra=extra)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"stopping the daemon started outside the service manager (pid {daemon.pid})" in done.stdout
        assert daemon.process is not None and daemon.process.wait(30) == 0  # it stopped cleanly, by SIGTERM
    calls = log.read_text().splitlines()
    assert calls == ["--user daemon-reload", "--user enable --now cway-mcp-daemon.socket cway-mcp-daemon.service"]
    # Again: nothing to hand over, files unchanged, the same (repeatable) activation.
    again = cli(env, "service", "install", "--target", "systemd", extra=extra)
    assert again.returncode == 0 and "stopping" not in again.stdout and again.stdout.count("unchanged ") == 2


def test_under_launchd_a_permanent_failure_exits_0_so_keepalive_does_not_loop(env: dict[str, str]) -> None:
    broken = {k: v for k, v in env.items() if k != "AZURE_CLIENT_ID"}
    daemon = cli(broken, "daemon", extra={"CWAY_MCP_SUPERVISOR": "launchd"})
    assert daemon.returncode == 0, daemon.stderr  # KeepAlive SuccessfulExit=false: not restarted
    assert "configuration error: AZURE_CLIENT_ID=unset" in daemon.stderr
    status = cli(env, "service", "status", "--target", "launchd", extra={"PATH": "/nonexistent"})
    assert status.returncode == 1  # not installed (no plist here), and says so
    from cway_authd import last_error

    recorded = last_error.read(Path(env["CWAY_MCP_STATE_DIR"]))
    assert recorded is not None and recorded.exit_code == 2
    assert recorded.message.startswith("configuration error: AZURE_CLIENT_ID=unset")


@pytest.mark.parametrize("target", ["systemd", "launchd"])
def test_the_stop_timeout_written_is_the_daemons_own_budget_setting(env: dict[str, str], target: str) -> None:
    # One setting: the unit's TimeoutStopSec / the agent's ExitTimeOut, and the daemon's shutdown budget.
    extra = {**no_manager(env), "CWAY_STOP_TIMEOUT_SECONDS": "120"}
    done = cli(env, "service", "install", "--print", "--target", target, extra=extra)
    assert done.returncode == 0, done.stderr
    if target == "systemd":
        assert "TimeoutStopSec=120" in done.stdout.splitlines()
        assert "@CWAY_STOP_TIMEOUT@" not in done.stdout
    else:
        assert plistlib.loads(done.stdout.encode())["ExitTimeOut"] == 120
    default = cli(env, "service", "install", "--print", "--target", target, extra=no_manager(env))
    assert (
        ("TimeoutStopSec=45" in default.stdout.splitlines())
        if target == "systemd"
        else (plistlib.loads(default.stdout.encode())["ExitTimeOut"] == 45)
    )
    from cway_authd.shutdown_budget import ShutdownBudget
    from cway_contract.config import load_settings

    settings = load_settings({**env, "CWAY_STOP_TIMEOUT_SECONDS": "120"}, component="daemon")
    assert ShutdownBudget.for_settings(settings).stop_timeout == 120
    bad = cli(
        env, "service", "install", "--print", "--target", target, extra={**extra, "CWAY_STOP_TIMEOUT_SECONDS": "5"}
    )
    assert bad.returncode != 0 and "CWAY_STOP_TIMEOUT_SECONDS" in bad.stderr
