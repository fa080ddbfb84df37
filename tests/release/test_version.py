"""One version: the package metadata, ``cway_contract.__version__`` and every command's ``--version`` agree.

The commands run the way a person or a script runs them: the installed console scripts, piped
(stdout captured), so argparse's ``version`` action is what answers.
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from cway_contract import __version__

BIN = Path(sys.executable).parent


@pytest.mark.parametrize("command", ["cway-mcp", "cway-auth", "cway-mcp-remote"])
def test_each_command_prints_the_installed_version(command: str) -> None:
    script = BIN / command
    if not script.exists():
        pytest.skip(f"{script} is not installed (run make .venv/.installed)")
    answer = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout == f"{command} {metadata.version('cway-mcp')}\n"
    assert answer.stderr == ""


def test_the_metadata_version_is_the_code_version() -> None:
    """pyproject.toml reads the version from cway_contract.__version__ (dynamic); an install made
    before a version change would show the old one here until reinstalled."""
    assert metadata.version("cway-mcp") == __version__
