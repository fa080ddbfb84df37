"""Tracing is off unless an exporter is configured (tracing.py): nothing imported, nothing patched."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cway_remote.tracing import tracing_requested


@pytest.mark.parametrize(
    ("env", "on"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
    ],
)
def test_which_settings_turn_tracing_on(env: dict[str, str], on: bool) -> None:
    assert tracing_requested(env) is on


def test_without_an_exporter_the_server_loads_no_tracing_sdk() -> None:
    code = (
        "import sys, cway_remote.app, cway_remote.tracing as t\n"
        "assert t.start_tracing('r', {}) is None\n"
        "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry.sdk', 'opentelemetry.instrumentation'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
