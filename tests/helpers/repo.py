"""Where the repository's own pieces are, for tests that need a file or a process from it.

The emulator is not installed (the wheel leaves it out: it must never reach a user), so a process
that runs it finds it through ``PYTHONPATH``; in the test process pytest's ``pythonpath`` setting
does the same (pyproject.toml).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: The folder holding the ``cway_emulator`` package.
EMULATOR_PARENT = REPO / "daemon"


def with_emulator_path(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) with the emulator's folder first on ``PYTHONPATH``."""
    merged = dict(os.environ if env is None else env)
    rest = merged.get("PYTHONPATH")
    merged["PYTHONPATH"] = os.pathsep.join([str(EMULATOR_PARENT), *([rest] if rest else [])])
    return merged


def shared_dir() -> Path | None:
    """The project's ``shared/`` folder where it lies beside the repository, else None.

    A git worktree lives elsewhere, so its main checkout is asked too. Never an absolute path:
    the folder is found relative to the repository. A clone from the forge has no such folder, so
    a test that uses it runs where it is and skips (saying so in the run summary) where it is not.
    """
    candidates = [REPO.parent / "shared"]
    try:
        common = subprocess.run(
            ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
            cwd=REPO, capture_output=True, text=True, check=True, timeout=30,
        ).stdout.strip()  # fmt: skip
        candidates.append(Path(common).parent.parent / "shared")
    except (OSError, subprocess.SubprocessError):
        pass
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None
