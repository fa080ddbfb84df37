"""Suite-wide pieces: the built distributions and the installed virtual environment (built once per
run, see ``tests/helpers/artifacts.py``), and the run summary's lines about what ran from where.

A test that wants the summary to say something about it calls ``tests.helpers.summary.summary_line``
(a user property of its report, which xdist carries to the controller); the last line per topic
is printed. The artifact tier always gets a line: where it ran from, or why it did not run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.artifacts import Dists, InstalledVenv, artifact_root, build_dists, install_venv

ARTIFACT_TOPIC = "artifact tier"
_summary: dict[str, str] = {}
_tier_outcomes: dict[str, int] = {}


def _shared_root(factory: pytest.TempPathFactory) -> Path:
    """``$CWAY_TEST_ARTIFACTS`` (make test), else one folder for the whole run, shared by xdist workers."""
    explicit = artifact_root()
    if explicit is not None:
        return explicit
    base = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the controller's basetemp: the same for every worker of this run
    return base / "artifacts"


@pytest.fixture(scope="session")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    return build_dists(_shared_root(tmp_path_factory))


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> InstalledVenv:
    return install_venv(_shared_root(tmp_path_factory))


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
