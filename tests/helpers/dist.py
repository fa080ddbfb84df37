"""Build the release files: the wheel, the sdist, ``SHA256SUMS`` and a CycloneDX SBOM (``make dist``).

One place for the build so ``make dist`` and the tests do exactly the same thing
(``python -m tests.helpers.dist [OUT_DIR]``). Offline: ``python -m build --no-isolation`` with the
setuptools of this environment (the test extra pins it), so a test never reaches a package index.

Reproducible: two builds of one tree with the same ``SOURCE_DATE_EPOCH`` give byte-identical wheels.
setuptools stamps every zip entry with that time and writes entries in sorted order; what it takes
from the file system is each file's mode, which depends on the umask of whoever checked the tree out.
So the sources are first copied to a scratch folder with normalised modes (0644, 0755 for the
executable ones), under umask 022, and built there (no ``build/`` or ``*.egg-info`` left over from an
earlier build can leak in either). Without ``SOURCE_DATE_EPOCH`` the last commit's time is used.

The SBOM describes what a default install runs: a fresh virtual environment with the built wheel
installed (``pip --no-deps``, offline) and the metadata (``*.dist-info``) of its runtime dependency
closure, resolved from the wheel's own ``Requires-Dist`` against the versions installed here (the ones
the tests ran). ``cyclonedx-py environment`` reads only that metadata, so the SBOM names each
component with its version, licence and dependency edges, and nothing a developer has besides.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import venv
import zipfile
from email.parser import Parser
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
SUMS_NAME = "SHA256SUMS"
SBOM_NAME = "cway-mcp.cdx.json"
#: 1980-01-01, the earliest time a zip entry can carry (a tree outside git with no SOURCE_DATE_EPOCH).
_ZIP_EPOCH = 315532800


def source_date_epoch(repo: Path = REPO) -> str:
    """``$SOURCE_DATE_EPOCH``, else the last commit's time, else 1980-01-01."""
    explicit = os.environ.get("SOURCE_DATE_EPOCH")
    if explicit:
        return explicit
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "log", "-1", "--format=%ct"], capture_output=True, text=True, check=True
        )
        return out.stdout.strip() or str(_ZIP_EPOCH)
    except (OSError, subprocess.CalledProcessError):
        return str(_ZIP_EPOCH)


def source_files(repo: Path = REPO) -> list[str]:
    """Tracked and new (not ignored) files: what a clone with the working changes would hold."""
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        raise SystemExit(f"{repo} is not a git checkout: build from the sdist instead") from None
    return sorted({name for name in out.stdout.decode().split("\0") if name and (repo / name).is_file()})


def copy_normalised(repo: Path, target: Path) -> None:
    """The sources with modes 0644/0755, whatever the checkout's umask was."""
    for name in source_files(repo):
        src, dst = repo / name, target / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        dst.chmod(0o755 if os.access(src, os.X_OK) else 0o644)


def build(out_dir: Path, repo: Path = REPO) -> tuple[Path, Path]:
    """Build the sdist and the wheel (from the sdist, as pip would) into ``out_dir``; returns both."""
    out_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SOURCE_DATE_EPOCH": source_date_epoch(repo), "PYTHONHASHSEED": "0"}
    old_umask = os.umask(0o022)
    try:
        with tempfile.TemporaryDirectory(prefix="cway-dist-") as scratch:
            tree = Path(scratch) / "src"
            copy_normalised(repo, tree)
            subprocess.run(
                [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out_dir), str(tree)],
                check=True,
                env=env,
                stdout=subprocess.DEVNULL,
            )
    finally:
        os.umask(old_umask)
    (wheel,) = out_dir.glob("cway_mcp-*.whl")
    (sdist,) = out_dir.glob("cway_mcp-*.tar.gz")
    return wheel, sdist


def _requirements(dist: metadata.Distribution | str, extras: frozenset[str]) -> list[Requirement]:
    requires = dist if isinstance(dist, str) else "\n".join(f"Requires-Dist: {r}" for r in dist.requires or [])
    wanted: list[Requirement] = []
    for value in Parser().parsestr(requires).get_all("Requires-Dist") or []:
        req = Requirement(value)
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in (extras or {""})):
            wanted.append(req)
    return wanted


def runtime_closure(wheel: Path) -> dict[str, metadata.Distribution]:
    """The installed distributions a default install of ``wheel`` runs on (its Requires-Dist, recursively)."""
    with zipfile.ZipFile(wheel) as zf:
        (name,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        root = zf.read(name).decode()
    found: dict[str, metadata.Distribution] = {}
    queue = [(req, frozenset(req.extras)) for req in _requirements(root, frozenset())]
    while queue:
        req, extras = queue.pop()
        key = canonicalize_name(req.name)
        dist = metadata.distribution(req.name)  # PackageNotFoundError: this environment cannot describe it
        if dist.version not in req.specifier and req.specifier:
            raise SystemExit(f"{req.name} {dist.version} here does not satisfy {req}: reinstall .[dev]")
        seen_extras: frozenset[str] = getattr(dist, "_cway_extras", frozenset())
        if key in found and extras <= seen_extras:
            continue
        dist._cway_extras = seen_extras | extras  # type: ignore[attr-defined]
        found[key] = dist
        queue.extend((r, frozenset(r.extras)) for r in _requirements(dist, extras))
    return found


def write_sbom(wheel: Path, out: Path, repo: Path = REPO) -> None:
    """CycloneDX JSON (1.6) for a default install of ``wheel``; see the module docstring."""
    with tempfile.TemporaryDirectory(prefix="cway-sbom-") as scratch:
        env_dir = Path(scratch) / "venv"
        venv.EnvBuilder(with_pip=False).create(env_dir)
        python = env_dir / "bin" / "python"
        site = Path(
            subprocess.run(
                [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--no-index",
                "--target",
                str(site),
                str(wheel),
            ],
            check=True,
        )
        for dist in runtime_closure(wheel).values():
            info = Path(str(dist.locate_file(""))) / _dist_info_dir(dist)
            shutil.copytree(info, site / info.name)
        # The root component from the wheel itself (the tree's pyproject.toml has a dynamic version).
        project = Path(scratch) / "pyproject.toml"
        project.write_text(_root_pyproject(wheel))
        subprocess.run(
            [
                sys.executable,
                "-m",
                "cyclonedx_py",
                "environment",
                "--pyproject",
                str(project),
                "--output-reproducible",
                "--of",
                "JSON",
                "-o",
                str(out),
                str(python),
            ],
            check=True,
            env={**os.environ, "SOURCE_DATE_EPOCH": source_date_epoch(repo)},
        )


def _root_pyproject(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as zf:
        (name,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        meta = Parser().parsestr(zf.read(name).decode())
    fields = {"name": meta["Name"], "version": meta["Version"], "description": meta["Summary"]}
    lines = ["[project]", *(f"{k} = {json.dumps(v)}" for k, v in fields.items())]
    if meta["License-Expression"]:
        lines.append(f"license = {json.dumps(meta['License-Expression'])}")
    runtime = [str(r) for r in _requirements(str(meta), frozenset())]  # the root's edges: a default install
    lines.append(f"dependencies = {json.dumps(runtime)}")
    return "\n".join(lines) + "\n"


def _dist_info_dir(dist: metadata.Distribution) -> str:
    path = getattr(dist, "_path", None)  # PathDistribution: its .dist-info folder
    if path is None:
        raise SystemExit(f"{dist.metadata['Name']} is not installed from a .dist-info folder")
    return Path(path).name


def write_sums(out_dir: Path, names: list[str]) -> Path:
    """``sha256sum -c`` format: ``<hex>  <name>``, one line per file, sorted."""
    lines = [f"{hashlib.sha256((out_dir / n).read_bytes()).hexdigest()}  {n}\n" for n in sorted(names)]
    path = out_dir / SUMS_NAME
    path.write_text("".join(lines))
    return path


def make_dist(out_dir: Path, repo: Path = REPO) -> list[Path]:
    """Wheel, sdist, SBOM and SHA256SUMS in an empty ``out_dir``; ``twine check`` must pass."""
    if out_dir.exists() and any(out_dir.iterdir()):
        shutil.rmtree(out_dir)
    wheel, sdist = build(out_dir, repo)
    subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)], check=True)
    sbom = out_dir / SBOM_NAME
    write_sbom(wheel, sbom, repo)
    sums = write_sums(out_dir, [wheel.name, sdist.name, sbom.name])
    return [wheel, sdist, sbom, sums]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.helpers.dist", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default=str(REPO / "dist"), type=Path)
    args = parser.parse_args(argv)
    for path in make_dist(args.out_dir):
        print(f"{path.stat().st_size:>10}  {path}")
    print(json.dumps({"SOURCE_DATE_EPOCH": source_date_epoch()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
