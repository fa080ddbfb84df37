"""``cway-auth service install|uninstall|status``: run the daemon at login, the platform's way.

Linux gets a systemd *user* service plus its socket unit (socket activation: systemd owns the
control socket and starts the daemon on the first connection), macOS a launchd *agent*: both run
as the user, never as root, because the daemon's whole security model is "one user, one daemon,
one private socket".

The systemd units are package data (``cway_authd/service_templates/``) so an installed wheel can
render them; the repository's top-level ``systemd/`` folder holds identical copies for people who
read the repo (a test keeps them identical). Rendering fills in the absolute path of the running
``cway-auth`` (services do not search ``$PATH``). The launchd agent is built as data and written
with :mod:`plistlib` (:mod:`cway_authd.cli.launchd_plist`).

``install`` is idempotent (unchanged files are left alone, activation commands are repeatable)
and hands over from a daemon a shim autostarted: that one is stopped first, so the service's own
daemon can take the socket and the state-dir lock.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal, TextIO

from cway_authd import last_error
from cway_authd.cli.launchd_plist import LAUNCHD_LABEL
from cway_authd.cli.launchd_plist import render as render_plist
from cway_contract import ConfigError, load_values, make_private_dirs, stop_timeout_value

Target = Literal["systemd", "launchd"]

SYSTEMD_UNIT = "cway-mcp-daemon.service"
SYSTEMD_SOCKET = "cway-mcp-daemon.socket"
SYSTEMD_UNITS = (SYSTEMD_SOCKET, SYSTEMD_UNIT)
LAUNCHD_PLIST = f"{LAUNCHD_LABEL}.plist"
HANDOVER_WAIT_SECONDS = 45.0  # the default CWAY_STOP_TIMEOUT_SECONDS: the daemon's stop ends inside it


class ServiceError(Exception):
    """Why the service could not be installed or inspected, as one line."""


@dataclass(frozen=True)
class ServiceFile:
    path: Path
    content: str


@dataclass(frozen=True)
class ServicePlan:
    target: Target
    files: tuple[ServiceFile, ...]
    log_dir: Path | None

    @property
    def path(self) -> Path:
        """The main file (the .service unit, or the plist)."""
        return self.files[-1].path


def template_text(name: str) -> str:
    """An unrendered systemd unit shipped with the package."""
    return resources.files("cway_authd").joinpath("service_templates", name).read_text("utf-8")


def default_target() -> Target:
    if sys.platform == "darwin":
        return "launchd"
    if sys.platform.startswith("linux"):
        return "systemd"
    raise ServiceError(f"no service manager support for {sys.platform}; run `cway-auth daemon` yourself")


def cway_auth_executable() -> Path:
    """The absolute path of this ``cway-auth`` (symlinks kept: a pipx upgrade keeps the link stable)."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "cway-auth" and argv0.is_file():
        return Path(os.path.abspath(argv0))
    beside_python = Path(sys.executable).parent / "cway-auth"
    if beside_python.is_file():
        return Path(os.path.abspath(beside_python))
    found = shutil.which("cway-auth")
    if found:
        return Path(os.path.abspath(found))
    raise ServiceError("cannot find the cway-auth executable; install cway-mcp (e.g. `pipx install .`) first")


def systemd_quote(arg: str) -> str:
    """Quote one ExecStart word: specifiers (%) and variables ($) are doubled, spaces quoted."""
    arg = arg.replace("%", "%%").replace("$", "$$")
    if any(ch.isspace() or ch in "\"'\\;" for ch in arg):
        return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return arg


def systemd_dir(home: Path) -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "systemd" / "user"


def unit_path(target: Target, home: Path | None = None) -> Path:
    home = home or Path.home()
    if target == "systemd":
        return systemd_dir(home) / SYSTEMD_UNIT
    return home / "Library" / "LaunchAgents" / LAUNCHD_PLIST


def configured_stop_timeout() -> int:
    """``CWAY_STOP_TIMEOUT_SECONDS`` from the usual sources: the unit's stop timeout is the daemon's budget."""
    try:
        return stop_timeout_value(load_values())
    except ConfigError as exc:
        raise ServiceError(str(exc)) from None


def plan(
    target: Target, executable: Path | None = None, home: Path | None = None, *, stop_timeout: int | None = None
) -> ServicePlan:
    """Render the service file(s) for ``target`` without touching the disk."""
    home = home or Path.home()
    exe = executable or cway_auth_executable()
    stop = stop_timeout if stop_timeout is not None else configured_stop_timeout()
    if target == "systemd":
        socket_unit = ServiceFile(systemd_dir(home) / SYSTEMD_SOCKET, template_text(SYSTEMD_SOCKET))
        service = (
            template_text(SYSTEMD_UNIT)
            .replace("@CWAY_AUTH@", systemd_quote(str(exe)))
            .replace("@CWAY_STOP_TIMEOUT@", str(stop))
        )
        return ServicePlan(target, (socket_unit, ServiceFile(unit_path(target, home), service)), None)
    log_dir = home / "Library" / "Logs" / "cway-mcp"
    plist = render_plist(exe, log_dir, stop_timeout=stop)
    return ServicePlan(target, (ServiceFile(unit_path(target, home), plist),), log_dir)


def _run(argv: Sequence[str], out: TextIO, *, quiet: bool = False) -> bool:
    """Run a service-manager command (a fixed argv, no shell) and echo it with its output."""
    if not quiet:
        print(f"$ {' '.join(argv)}", file=out)
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired) as exc:
        if not quiet:
            print(f"  failed: {exc}", file=out)
        return False
    if quiet:
        return done.returncode == 0
    for line in (done.stdout + done.stderr).strip().splitlines():
        print(f"  {line}", file=out)
    return done.returncode == 0


def _activation_commands(target: Target, path: Path) -> list[list[str]]:
    if target == "systemd":
        return [["systemctl", "--user", "daemon-reload"], ["systemctl", "--user", "enable", "--now", *SYSTEMD_UNITS]]
    return [["launchctl", "bootstrap", f"gui/{os.getuid()}", str(path)]]


def _deactivation_commands(target: Target) -> list[list[str]]:
    if target == "systemd":
        return [["systemctl", "--user", "disable", "--now", SYSTEMD_UNIT, SYSTEMD_SOCKET]]
    return [["launchctl", "bootout", f"gui/{os.getuid()}/{LAUNCHD_LABEL}"]]


def _manager(target: Target) -> str:
    return "systemctl" if target == "systemd" else "launchctl"


def _write_if_changed(file: ServiceFile, out: TextIO) -> bool:
    """Atomically (re)write ``file``; False when it already had this content."""
    try:
        if file.path.read_text(encoding="utf-8") == file.content:
            print(f"unchanged {file.path}", file=out)
            return False
    except OSError:
        pass
    make_private_dirs(file.path.parent)  # e.g. ~/.config/systemd/user: never 0777 under a loose umask
    tmp = file.path.with_name(file.path.name + ".tmp")
    tmp.write_text(file.content, encoding="utf-8")
    os.chmod(tmp, 0o644)  # a unit file holds no secret, and the service manager must read it
    os.replace(tmp, file.path)
    print(f"wrote {file.path}", file=out)
    return True


def hand_over(state_dir: Path | None, out: TextIO, *, wait: float = HANDOVER_WAIT_SECONDS) -> bool:
    """Stop a daemon that runs outside any service manager (a shim autostarted it); True if one was stopped.

    It holds the state-dir lock and the socket the service's daemon needs; SIGTERM lets it finish
    in-flight requests first. A daemon the service manager runs is left to the manager.
    """
    from cway_contract import is_alive, live_record

    record = live_record(state_dir) if state_dir is not None else None
    if record is None or record.supervisor is not None:
        return False
    print(f"stopping the daemon started outside the service manager (pid {record.pid}) to hand over", file=out)
    try:
        os.kill(record.pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + wait
    while is_alive(record.pid):
        if time.monotonic() >= deadline:
            raise ServiceError(f"the running daemon (pid {record.pid}) did not stop within {wait:.0f} s; stop it")
        time.sleep(0.1)
    return True


def install(target: Target, *, dry_run: bool, out: TextIO, err: TextIO, state_dir: Path | None = None) -> int:
    """Write the unit(s)/agent and activate them (or print what to run when the manager is absent)."""
    service = plan(target)
    if dry_run:
        for file in service.files:
            print(f"# would write {file.path}", file=err)
            out.write(file.content)
        return 0
    if service.log_dir is not None:
        make_private_dirs(service.log_dir)
    changed = [_write_if_changed(file, out) for file in service.files]
    commands = _activation_commands(target, service.path)
    if shutil.which(_manager(target)) is None:
        print(f"{_manager(target)} not found; to start the daemon now and at every login, run:", file=out)
        for argv in commands:
            print(f"  {' '.join(argv)}", file=out)
        return 0
    if target == "launchd":
        loaded = _run(["launchctl", "print", f"gui/{os.getuid()}/{LAUNCHD_LABEL}"], out, quiet=True)
        if loaded and not any(changed):
            print("already installed, loaded and up to date", file=out)
            return 0
        _run(_deactivation_commands(target)[0], out, quiet=True)  # bootstrap fails if an older copy is loaded
    hand_over(state_dir, out, wait=float(configured_stop_timeout()))
    ok = all(_run(argv, out) for argv in commands)
    print("the daemon is installed and running" if ok else "installed, but activation failed (see above)", file=out)
    return 0 if ok else 1


def uninstall(target: Target, *, dry_run: bool, out: TextIO) -> int:
    paths = [f.path for f in plan(target, executable=Path("cway-auth")).files]
    commands = _deactivation_commands(target)
    if dry_run:
        for argv in commands:
            print(f"would run: {' '.join(argv)}", file=out)
        for path in paths:
            print(f"would remove {path}", file=out)
        return 0
    existed = unit_path(target).exists()
    has_manager = shutil.which(_manager(target)) is not None
    if has_manager:
        for argv in commands:
            _run(argv, out)  # failing to stop a service that is not loaded is fine
    for path in paths:
        path.unlink(missing_ok=True)
    if has_manager and target == "systemd":
        _run(["systemctl", "--user", "daemon-reload"], out)
    print(f"removed {unit_path(target)}" if existed else f"{unit_path(target)} was not installed", file=out)
    return 0


def status_info(target: Target, state_dir: Path | None = None) -> dict[str, object]:
    """What `service status` reports, as data (the ``--json`` document)."""
    path = unit_path(target)
    info: dict[str, object] = {"target": target, "path": str(path), "installed": path.exists()}
    if not path.exists():
        return info
    try:
        info["up_to_date"] = all(f.path.read_text(encoding="utf-8") == f.content for f in plan(target).files)
    except (OSError, ServiceError):
        info["up_to_date"] = False
    info["running"] = _manager_says_running(target)
    failure = last_error.read(state_dir) if state_dir is not None else None
    info["failing"] = (
        {"exit_code": failure.exit_code, "message": failure.message, "at": failure.at.isoformat()}
        if failure is not None and not info["running"]
        else None
    )
    return info


def status(target: Target, *, out: TextIO, state_dir: Path | None = None, as_json: bool = False) -> int:
    """Installed? Up to date with this cway-auth? Running, or failing and why?"""
    info = status_info(target, state_dir)
    ok = bool(info["installed"]) and not info.get("failing") and info.get("running") is not False
    if as_json:
        print(json.dumps(info, indent=2), file=out, flush=True)
        return 0 if ok else 1
    path = info["path"]
    if not info["installed"]:
        print(f"not installed ({path} does not exist); run `cway-auth service install`", file=out)
        return 1
    failing = info["failing"]
    if isinstance(failing, dict):
        print(f"installed but failing: {failing['message']}", file=out)
        print(f"  (exit status {failing['exit_code']} at {failing['at']}; unit: {path})", file=out)
        print("  fix the cause, then `cway-auth service install` starts it again", file=out)
        return 1
    print(f"installed: {path}", file=out)
    if not info["up_to_date"]:
        print("  it differs from what this cway-auth would write; `cway-auth service install` updates it", file=out)
    if info["running"] is None:
        print(f"  {_manager(target)} not found: cannot ask the service manager", file=out)
        return 0
    print("  running" if info["running"] else "  not running", file=out)
    return 0 if ok else 1


def _manager_says_running(target: Target) -> bool | None:
    """True/False from the service manager; None when it cannot be asked."""
    if shutil.which(_manager(target)) is None:
        return None
    if target == "systemd":
        argv = ["systemctl", "--user", "is-active", "--quiet", SYSTEMD_UNIT]
    else:
        argv = ["launchctl", "print", f"gui/{os.getuid()}/{LAUNCHD_LABEL}"]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=30, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired):
        return None
    if target == "launchd":
        return done.returncode == 0 and b"state = running" in done.stdout
    return done.returncode == 0
