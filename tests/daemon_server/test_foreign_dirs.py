"""Paths under someone else's directory: one clear line from ``cway-auth`` and ``cway-mcp``, and advice
that never says to change a directory that is not the user's (``chmod 700 /tmp``, ``chown`` theirs).

The permission errors are real: the commands run in a forked child that has switched to ``nobody``,
against a ``/tmp/runtime-<uid>``-like directory that belongs to root.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shutil
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cway_authd import cli
from cway_authd.store import StorePermissionError, check_private_dir, ensure_private_dir
from cway_contract.config import load_settings
from cway_contract.daemon_client import DaemonClient, DaemonUnavailable
from cway_mcp_shim.autostart import DaemonLauncher
from tests.helpers.daemon import short_tmpdir

NOBODY = 65534
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching to another user needs root")


@pytest.fixture
def foreign_runtime_dir() -> Iterator[Path]:
    """``<tmp>/runtime-65534``, created by root (0700), as if someone else got there first; ``<tmp>`` is 0755."""
    base = short_tmpdir()
    os.chmod(base, 0o755)  # noqa: S103 - like /tmp: others may pass through
    runtime = base / f"runtime-{NOBODY}"
    runtime.mkdir(mode=0o700)
    yield runtime
    shutil.rmtree(base, ignore_errors=True)


def _env(state_dir: Path, home: Path) -> dict[str, str]:
    config = home / "config.toml"
    config.touch()
    os.chmod(config, 0o644)
    return {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "CWAY_MCP_CONFIG": str(config),
        "CWAY_MCP_STATE_DIR": str(state_dir),
        "AZURE_CLIENT_ID": "00000000-0000-0000-0000-00000000c11e",
        "CWAY_MCP_OPEN_BROWSER": "0",
    }


def _as_nobody(env: dict[str, str], run: Callable[[], int]) -> tuple[int, str]:
    """Run ``run`` in a forked child as ``nobody`` with ``env``; its exit code and everything it printed."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 99
        try:
            out = io.TextIOWrapper(os.fdopen(write_end, "wb", buffering=0), write_through=True)
            sys.stdout = sys.stderr = out
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.environ.clear()
            os.environ.update(env)
            code = run()
        except BaseException:
            traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        output = pipe.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output


def _warm_up(tmp_path: Path) -> None:
    """Import, as ourselves, everything the commands load lazily: ``nobody`` may not read our interpreter's files."""
    import concurrent.futures.thread  # noqa: F401 - asyncio.to_thread, used by the shim's autostart

    env = _env(tmp_path / "state", tmp_path)
    saved = dict(os.environ)
    try:
        os.environ.update(env)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            for argv in (["status"], ["doctor"]):
                cli.main(argv)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _launch_from_the_shim() -> int:
    settings = load_settings(component="shim")
    client = DaemonClient(settings.socket_path, timeout=2)

    async def attempt() -> None:
        try:
            await client.health()
        except DaemonUnavailable as exc:
            await DaemonLauncher(settings, client, wait_seconds=1).ensure_running(exc)

    try:
        asyncio.run(attempt())
    except Exception as exc:  # the ToolError a tool call would show
        print(f"tool error: {exc}")
        return 1
    return 0


@needs_root
@pytest.mark.slow
def test_a_state_dir_under_someone_elses_runtime_dir_is_one_clear_line(
    foreign_runtime_dir: Path, tmp_path: Path
) -> None:
    _warm_up(tmp_path)
    home = foreign_runtime_dir.parent / "home"  # nobody's home: reachable, but not writable by it
    home.mkdir(mode=0o755)
    env = _env(foreign_runtime_dir / "state", home)
    runs = {
        "cway-auth status": lambda: cli.main(["status"]),
        "cway-auth login": lambda: cli.main(["login", "--no-browser", "--timeout", "1"]),
        "cway-mcp (autostart)": _launch_from_the_shim,
    }
    for name, run in runs.items():
        code, output = _as_nobody(env, run)
        assert code != 0, f"{name}: {output}"
        assert "Traceback" not in output and "PermissionError" not in output, f"{name}: {output}"
        assert f"{foreign_runtime_dir} belongs to root" in output, f"{name}: {output}"
        assert "CWAY_MCP_STATE_DIR" in output, f"{name}: {output}"
        assert "chmod" not in output and "chown" not in output, f"{name}: {output}"


@needs_root
def test_someone_elses_directory_is_never_advised_a_chown(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, NOBODY, NOBODY)
    with pytest.raises(StorePermissionError) as caught:
        ensure_private_dir(theirs)
    assert "chown" not in str(caught.value) and "chmod" not in str(caught.value)
    assert "a directory of your own" in str(caught.value)


def test_a_shared_sticky_directory_is_never_advised_a_chmod(tmp_path: Path) -> None:
    shared = tmp_path / "tmp"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # noqa: S103 - what /tmp looks like to its owner (root)
    with pytest.raises(StorePermissionError) as caught:
        check_private_dir(shared)
    assert "chmod" not in str(caught.value)
    assert "a directory of your own" in str(caught.value)


def test_our_own_loose_directory_is_advised_its_chmod(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    os.chmod(mine, 0o755)  # noqa: S103 - the loose mode under test
    with pytest.raises(StorePermissionError, match=f"fix with: chmod 700 {mine}"):
        check_private_dir(mine)
