"""The artifacts people install, built once per test run, and a virtual environment that installed one.

* the sdist and the wheel built from it (``python -m build``: what a package index serves),
* the wheel built straight from the tree (``python -m build --wheel``: what ``pip install .``,
  ``pipx install .`` and ``uv tool install .`` build),
* a fresh virtual environment outside the repository with ``cway-mcp[remote]`` installed from the
  first wheel (the Dockerfile's install step), for the end-to-end tier in ``tests/installed/``.

``make test`` builds all of it before pytest starts (``python -m tests.helpers.artifacts DIR``)
and names DIR in ``CWAY_TEST_ARTIFACTS``. A plain ``pytest`` run builds on first use into the
session's temporary directory; xdist workers share one build through an ``flock`` on a file
beside it (the first worker builds, the others wait and reuse it). Builds run without isolation
(``--no-isolation``): setuptools is in the test environment, so no registry is needed.

The source is a copy of what git would give a clone (tracked and untracked-but-not-ignored
files), so ignored leftovers (``*.egg-info``, ``build/``) never leak into what is tested.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.repo import REPO

ENV_VAR = "CWAY_TEST_ARTIFACTS"
_DONE = ".done"


@dataclass(frozen=True)
class Dists:
    sdist: Path
    #: built from the sdist, as a package index would serve it
    wheel: Path
    #: built straight from the source tree, as ``pip install .`` does
    tree_wheel: Path


@dataclass(frozen=True)
class InstalledVenv:
    """A virtual environment outside the repository with the wheel (and its ``remote`` extra) installed."""

    root: Path
    wheel: Path
    #: seconds the build and the install took when they ran here (0 when reused)
    seconds: float = 0.0

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def exe(self, name: str) -> Path:
        return self.bin / name

    def describe(self) -> str:
        return f"{self.root} ({self.wheel.name})"


def artifact_root() -> Path | None:
    """``$CWAY_TEST_ARTIFACTS`` (set by ``make test``), else None."""
    value = os.environ.get(ENV_VAR)
    return Path(value) if value else None


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run(argv: list[str], cwd: Path | None = None, timeout: float = 600) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_REQUIRE_VIRTUALENV")}
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )


def _clone_files(dest: Path) -> None:
    """Copy what a clone of the repository would hold (plus untracked, not ignored, work in progress)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO, capture_output=True, check=True, timeout=60,
        ).stdout.decode().split("\0")  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        ignore = shutil.ignore_patterns(".git", ".venv", ".tools", "__pycache__", "*.egg-info", "build", "dist")
        shutil.copytree(REPO, dest, ignore=ignore, dirs_exist_ok=True)
        return
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():  # a file deleted but not yet committed is listed and absent
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def build_dists(root: Path) -> Dists:
    """The sdist, the wheel built from it and the wheel built from the tree, under ``root`` (built once)."""
    with _locked(root):
        if not (root / "dist" / _DONE).exists():
            for folder in ("source", "dist", "tree"):
                shutil.rmtree(root / folder, ignore_errors=True)
            source = root / "source"
            source.mkdir()
            _clone_files(source)
            build = [sys.executable, "-m", "build", "--no-isolation"]
            _run([*build, "--outdir", str(root / "tree"), "--wheel", str(source)])
            shutil.rmtree(source / "build", ignore_errors=True)
            _run([*build, "--outdir", str(root / "dist"), str(source)])  # the sdist, then the wheel from it
            (root / "dist" / _DONE).touch()
    (sdist,) = (root / "dist").glob("cway_mcp-*.tar.gz")
    (wheel,) = (root / "dist").glob("cway_mcp-*.whl")
    (tree_wheel,) = (root / "tree").glob("cway_mcp-*.whl")
    return Dists(sdist=sdist, wheel=wheel, tree_wheel=tree_wheel)


def install_venv(root: Path) -> InstalledVenv:
    """``root/venv`` with ``cway-mcp[remote]`` installed from the wheel built from the sdist (once)."""
    started = time.monotonic()
    dists = build_dists(root)
    venv = root / "venv"
    ran = False
    with _locked(root):
        if not (venv / _DONE).exists():
            shutil.rmtree(venv, ignore_errors=True)
            _run([sys.executable, "-m", "venv", str(venv)])
            _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", f"{dists.wheel}[remote]"], cwd=root)
            (venv / _DONE).touch()
            ran = True
    # readable by the unprivileged user the server runs as (tests/installed/test_serve.py)
    for folder in (root, venv):
        folder.chmod(folder.stat().st_mode | 0o055)
    return InstalledVenv(venv, dists.wheel, time.monotonic() - started if ran else 0.0)


def main() -> int:
    """``python -m tests.helpers.artifacts DIR``: build the distributions and the venv (``make test``)."""
    if len(sys.argv) != 2:
        print("usage: python -m tests.helpers.artifacts DIR", file=sys.stderr)
        return 2
    root = Path(sys.argv[1]).resolve()
    if root.is_relative_to(REPO):
        print(f"{root} is inside the repository: the installed tier must run from outside it", file=sys.stderr)
        return 2
    started = time.monotonic()
    installed = install_venv(root)
    print(f"built and installed {installed.wheel.name} into {installed.root} in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
