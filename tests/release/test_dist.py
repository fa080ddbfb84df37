"""``make dist``: wheel, sdist, SHA256SUMS and a CycloneDX SBOM that describe what ships, reproducibly.

The files are built once per module by the same code ``make dist`` runs (:mod:`tests.helpers.dist`),
offline, into a temporary folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from email.message import Message
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from cway_contract import __version__
from tests.helpers import dist

pytestmark = pytest.mark.slow

EPOCH = "1767225600"  # 2026-01-01T00:00:00Z


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("dist")
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        dist.make_dist(out)
    finally:
        if previous is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous
    yield out


def _wheel_metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as zf:
        (name,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        return Parser().parsestr(zf.read(name).decode())


def test_the_folder_holds_the_four_release_files_and_the_sums_match(built: Path) -> None:
    names = sorted(p.name for p in built.iterdir())
    assert names == sorted(
        [
            "SHA256SUMS",
            "cway-mcp.cdx.json",
            f"cway_mcp-{__version__}-py3-none-any.whl",
            f"cway_mcp-{__version__}.tar.gz",
        ]
    )
    lines = (built / "SHA256SUMS").read_text().splitlines()
    listed = {}
    for line in lines:
        digest, name = line.split("  ", 1)
        listed[name] = digest
    assert sorted(listed) == sorted(n for n in names if n != "SHA256SUMS")
    for name, digest in listed.items():
        assert hashlib.sha256((built / name).read_bytes()).hexdigest() == digest, name
    # and the standard tool agrees with the format
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=built, capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    for path in sorted(built.iterdir()):
        print(f"{path.stat().st_size:>9}  {path.name}")


def test_twine_check_passes(built: Path) -> None:
    files = sorted(str(p) for p in built.iterdir() if p.suffix in (".whl", ".gz"))
    answer = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *files], capture_output=True, text=True, check=False
    )
    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert answer.stdout.count("PASSED") == 2


def test_the_sbom_is_valid_cyclonedx_naming_the_package_and_its_runtime_dependencies(built: Path) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = (built / "cway-mcp.cdx.json").read_text()
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, error
    bom = json.loads(text)
    assert bom["bomFormat"] == "CycloneDX"
    root = bom["metadata"]["component"]
    assert (root["name"], root["version"]) == ("cway-mcp", __version__)
    components = {canonicalize_name(c["name"]): c for c in bom["components"]}
    meta = _wheel_metadata(next(built.glob("*.whl")))
    runtime = [Requirement(r) for r in meta.get_all("Requires-Dist") or []]
    direct = {canonicalize_name(r.name) for r in runtime if r.marker is None}
    assert direct, "the wheel declares no runtime dependencies?"
    assert direct <= components.keys(), direct - components.keys()
    for name in direct:  # each pinned to a version that satisfies the wheel's own requirement
        req = next(r for r in runtime if canonicalize_name(r.name) == name)
        assert components[name]["version"] in req.specifier, (name, components[name]["version"], str(req))
    # only what a default install runs: no test or lint tool, no optional extra
    for absent in ("pytest", "ruff", "mypy", "twine", "asyncpg", "cyclonedx-bom"):
        assert absent not in components
    root_ref = root["bom-ref"]
    edges = {d["ref"]: set(d.get("dependsOn", [])) for d in bom["dependencies"]}
    assert {components[n]["bom-ref"] for n in direct} <= edges[root_ref]


def test_two_builds_with_the_same_source_date_epoch_give_byte_identical_wheels(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second build runs under another umask (a checkout made under 077 has 0600 files)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    old = os.umask(0o077)
    try:
        wheel, sdist = dist.build(tmp_path / "again")
    finally:
        os.umask(old)
    first = next(built.glob("*.whl"))
    hashes = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (first, wheel)]
    print(f"\nwheel sha256, build 1: {hashes[0]}\nwheel sha256, build 2: {hashes[1]}")
    sdists = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (next(built.glob("*.tar.gz")), sdist)]
    print(f"sdist sha256, build 1: {sdists[0]}\nsdist sha256, build 2: {sdists[1]}")
    assert hashes[0] == hashes[1]
    with zipfile.ZipFile(wheel) as zf:
        stamps = {info.date_time for info in zf.infolist()}
        modes = {info.external_attr >> 16 for info in zf.infolist()}
    assert stamps == {(2026, 1, 1, 0, 0, 0)}
    assert modes <= {0o100644, 0o100664, 0o100755}, sorted(oct(m) for m in modes)  # RECORD: 0664 by setuptools
