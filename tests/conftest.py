"""Suite-wide pieces: the built distributions and the installed virtual environment (built once per
run, see ``tests/helpers/artifacts.py``), and the run summary's lines about what ran from where.

A test that wants the summary to say something about it calls ``tests.helpers.summary.summary_line``
(a user property of its report, which xdist carries to the controller); the last line per topic
is printed. The artifact tier always gets a line: where it ran from, or why it did not run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.helpers.artifacts import ENV_VAR, Dists, InstalledVenv, artifact_root, build_dists, install_venv
from tests.helpers.summary import ARTIFACT_TOPIC

_summary: dict[str, str] = {}
_tier_outcomes: dict[str, int] = {}
_OWN_ROOT = pytest.StashKey[Path]()


def _shared_root() -> Path:
    root = artifact_root()
    assert root is not None, "pytest_configure sets it"
    return root


@pytest.hookimpl
def pytest_configure(config: pytest.Config) -> None:
    """Without ``make test``'s ``$CWAY_TEST_ARTIFACTS``, pick a folder for this run's artifacts before
    xdist starts its workers (they inherit the variable and share the folder). It is outside the
    repository and traversable (0755), so a server run as an unprivileged user can execute the venv;
    nothing is built until a test asks (the ``dists`` / ``installed`` fixtures)."""
    if os.environ.get("PYTEST_XDIST_WORKER") or artifact_root() is not None:
        return
    root = Path(tempfile.mkdtemp(prefix="cw-artifacts-", dir="/tmp"))
    root.chmod(0o755)
    os.environ[ENV_VAR] = str(root)
    config.stash[_OWN_ROOT] = root


@pytest.hookimpl
def pytest_unconfigure(config: pytest.Config) -> None:
    root = config.stash.get(_OWN_ROOT, None)
    if root is not None:
        shutil.rmtree(root, ignore_errors=True)
        os.environ.pop(ENV_VAR, None)


@pytest.fixture(scope="session")
def dists() -> Dists:
    return build_dists(_shared_root())


@pytest.fixture(scope="session")
def installed() -> InstalledVenv:
    return install_venv(_shared_root())


@pytest.hookimpl
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for key, value in report.user_properties:
        if key == "summary" and isinstance(value, str):
            topic, _, text = value.partition(": ")
            _summary[topic] = text
    if "tests/installed/" in report.nodeid.replace("\\", "/") and (report.when == "call" or report.skipped):
        _tier_outcomes[report.outcome] = _tier_outcomes.get(report.outcome, 0) + 1


@pytest.hookimpl
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    lines = dict(_summary)
    counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(_tier_outcomes.items()))
    if ARTIFACT_TOPIC in lines:
        lines[ARTIFACT_TOPIC] += f" [{counts}]"
    elif _tier_outcomes:
        lines[ARTIFACT_TOPIC] = f"did not run from an installed wheel [{counts}]"
    else:
        lines[ARTIFACT_TOPIC] = "did not run: no test of tests/installed/ was selected"
    terminalreporter.section("cway-mcp")
    for topic, text in lines.items():
        terminalreporter.write_line(f"{topic}: {text}")
