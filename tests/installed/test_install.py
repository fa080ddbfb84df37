"""The tier really runs the install: the venv's interpreter imports the packages from site-packages,
not from the repository, cannot import the emulator, and holds a regular (not editable) install."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.helpers.artifacts import InstalledVenv
from tests.helpers.repo import REPO

PROBE = """
import importlib.metadata, importlib.util, json, sys
import cway_authd, cway_contract, cway_mcp_shim, cway_remote
dist = importlib.metadata.distribution("cway-mcp")
print(json.dumps({
    "files": [m.__file__ for m in (cway_authd, cway_contract, cway_mcp_shim, cway_remote)],
    "path": sys.path,
    "emulator": importlib.util.find_spec("cway_emulator") is not None,
    "direct_url": dist.read_text("direct_url.json"),
    "asyncpg": importlib.util.find_spec("asyncpg") is not None,
}))
"""


def test_the_packages_come_from_the_installed_wheel(installed: InstalledVenv, tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    done = subprocess.run(
        [str(installed.python), "-c", PROBE], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    site = installed.root.resolve()
    assert all(Path(f).resolve().is_relative_to(site) for f in seen["files"]), seen["files"]
    assert [p for p in seen["path"] if p and Path(p).resolve().is_relative_to(REPO)] == []
    assert seen["emulator"] is False  # not in the wheel, by design
    assert seen["asyncpg"] is True  # the `remote` extra came along
    assert seen["direct_url"] is None or '"editable": true' not in seen["direct_url"]
    for script in ("cway-auth", "cway-mcp"):
        assert installed.exe(script).is_file()
