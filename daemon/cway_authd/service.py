"""``cway-auth service install|uninstall|status``: run the daemon at login, the platform's way.

Linux gets a systemd *user* unit, macOS a launchd *agent*: both run as the user, never as root,
because the daemon's whole security model is "one user, one daemon, one private socket".

The templates are package data (``cway_authd/service_templates/``) so an installed wheel can
render them; the repository's top-level ``systemd/`` and ``launchd/`` folders hold identical
copies for people who read the repo (a test keeps them identical). Rendering fills in the
absolute path of the running ``cway-auth`` (services do not search ``$PATH``) and, for launchd,
the log directory (launchd does not expand ``~``), each escaped for its file format.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal, TextIO
from xml.sax.saxutils import escape as xml_escape

Target = Literal["systemd", "launchd"]

SYSTEMD_UNIT = "cway-mcp-daemon.service"
LAUNCHD_LABEL = "se.cway.mcp.daemon"
LAUNCHD_PLIST = f"{LAUNCHD_LABEL}.plist"
TEMPLATE_NAMES: dict[Target, str] = {"systemd": SYSTEMD_UNIT, "launchd": LAUNCHD_PLIST}


class ServiceError(Exception):
    """Why the service could not be installed or inspected, as one line."""


@dataclass(frozen=True)
class ServicePlan:
    target: Target
    path: Path
    content: str
    log_dir: Path | None


def template_text(target: Target) -> str:
    """The unrendered template shipped with the package."""
    return resources.files("cway_authd").joinpath("service_templates", TEMPLATE_NAMES[target]).read_text("utf-8")


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
    raise ServiceError("cannot find the cway-auth executable; install cway-mcp (e.g. `pipx install cway-mcp`) first")


def systemd_quote(arg: str) -> str:
    """Quote one ExecStart word: specifiers (%) and variables ($) are doubled, spaces quoted."""
    arg = arg.replace("%", "%%").replace("$", "$$")
    if any(ch.isspace() or ch in "\"'\\;" for ch in arg):
        return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return arg


def unit_path(target: Target, home: Path | None = None) -> Path:
    home = home or Path.home()
    if target == "systemd":
        config_home = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
        return config_home / "systemd" / "user" / SYSTEMD_UNIT
    return home / "Library" / "LaunchAgents" / LAUNCHD_PLIST


def plan(target: Target, executable: Path | None = None, home: Path | None = None) -> ServicePlan:
    """Render the service file for ``target`` without touching the disk."""
    home = home or Path.home()
    exe = str(executable or cway_auth_executable())
    text = template_text(target)
    if target == "systemd":
        return ServicePlan(target, unit_path(target, home), text.replace("@CWAY_AUTH@", systemd_quote(exe)), None)
    log_dir = home / "Library" / "Logs" / "cway-mcp"
    content = text.replace("@CWAY_AUTH@", xml_escape(exe)).replace("@LOG_DIR@", xml_escape(str(log_dir)))
    return ServicePlan(target, unit_path(target, home), content, log_dir)


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
        return [["systemctl", "--user", "daemon-reload"], ["systemctl", "--user", "enable", "--now", SYSTEMD_UNIT]]
    return [["launchctl", "bootstrap", f"gui/{os.getuid()}", str(path)]]


def _deactivation_commands(target: Target) -> list[list[str]]:
    if target == "systemd":
        return [["systemctl", "--user", "disable", "--now", SYSTEMD_UNIT]]
    return [["launchctl", "bootout", f"gui/{os.getuid()}/{LAUNCHD_LABEL}"]]


def _manager(target: Target) -> str:
    return "systemctl" if target == "systemd" else "launchctl"


def install(target: Target, *, dry_run: bool, out: TextIO, err: TextIO) -> int:
    """Write the unit/agent and activate it (or print what to run when the manager is absent)."""
    service = plan(target)
    if dry_run:
        print(f"# would write {service.path}", file=err)
        out.write(service.content)
        return 0
    service.path.parent.mkdir(parents=True, exist_ok=True)
    if service.log_dir is not None:
        service.log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = service.path.with_name(service.path.name + ".tmp")
    tmp.write_text(service.content, encoding="utf-8")
    os.chmod(tmp, 0o644)  # a unit file holds no secret, and the service manager must read it
    os.replace(tmp, service.path)
    print(f"wrote {service.path}", file=out)
    commands = _activation_commands(target, service.path)
    if shutil.which(_manager(target)) is None:
        print(f"{_manager(target)} not found; to start the daemon now and at every login, run:", file=out)
        for argv in commands:
            print(f"  {' '.join(argv)}", file=out)
        return 0
    if target == "launchd":  # bootstrap fails if an older copy is loaded: unload it first
        _run(_deactivation_commands(target)[0], out, quiet=True)
    ok = all(_run(argv, out) for argv in commands)
    print("the daemon is installed and running" if ok else "installed, but activation failed (see above)", file=out)
    return 0 if ok else 1


def uninstall(target: Target, *, dry_run: bool, out: TextIO) -> int:
    path = unit_path(target)
    commands = _deactivation_commands(target)
    if dry_run:
        for argv in commands:
            print(f"would run: {' '.join(argv)}", file=out)
        print(f"would remove {path}", file=out)
        return 0
    existed = path.exists()
    has_manager = shutil.which(_manager(target)) is not None
    if has_manager:
        for argv in commands:
            _run(argv, out)  # failing to stop a service that is not loaded is fine
    path.unlink(missing_ok=True)
    if has_manager and target == "systemd":
        _run(["systemctl", "--user", "daemon-reload"], out)
    print(f"removed {path}" if existed else f"{path} was not installed", file=out)
    return 0


def status(target: Target, *, out: TextIO) -> int:
    """Installed? Up to date with this cway-auth? What the service manager says."""
    path = unit_path(target)
    if not path.exists():
        print(f"not installed ({path} does not exist); run `cway-auth service install`", file=out)
        return 1
    print(f"installed: {path}", file=out)
    try:
        current = path.read_text(encoding="utf-8") == plan(target).content
    except (OSError, ServiceError):
        current = False
    if not current:
        print("  it differs from what this cway-auth would write; `cway-auth service install` updates it", file=out)
    if shutil.which(_manager(target)) is None:
        print(f"  {_manager(target)} not found: cannot ask the service manager", file=out)
        return 0
    if target == "systemd":
        _run(["systemctl", "--user", "is-enabled", SYSTEMD_UNIT], out)
        return 0 if _run(["systemctl", "--user", "is-active", SYSTEMD_UNIT], out) else 1
    return 0 if _run(["launchctl", "print", f"gui/{os.getuid()}/{LAUNCHD_LABEL}"], out) else 1
