"""Lines for the run summary (printed by ``tests/conftest.py``): what ran from where, or why it did not."""

from __future__ import annotations

import pytest

#: the topic of the line every run prints about ``tests/installed/``
ARTIFACT_TOPIC = "artifact tier"


def summary_line(request: pytest.FixtureRequest, topic: str, text: str) -> None:
    """Ask the run summary to print ``topic: text``; carried in the report, so it works under xdist."""
    request.node.user_properties.append(("summary", f"{topic}: {text}"))
