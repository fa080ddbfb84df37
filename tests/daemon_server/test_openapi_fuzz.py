"""The control socket answers as its OpenAPI document says: a schema-driven fuzz with schemathesis.

The document is the one the daemon serves (``GET /v1/openapi.json``) and every request goes to the
real daemon's Unix socket, through the real peer-checked, guarded protocol: schemathesis's requests
transport over a ``requests`` session that speaks to the socket (requests-unixsocket2). The daemon
runs against the emulator with one account signed in, so that the token routes answer 200 as well
as their errors.

Per operation, schemathesis generates requests from the document (positive: what the schema
admits; negative: what it forbids) and checks each answer: no 5xx, a status the document lists for
that operation, a body that matches the documented schema for that status, and for a forbidden
request a 4xx. Kept short for the suite (``MAX_EXAMPLES`` per operation and mode, derandomized so a
failure reproduces).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from requests_unixsocket import UnixAdapter
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from cway_authd.control.api import create_control_app
from cway_contract.contract import Route
from cway_emulator.server import EmulatorServer
from tests.daemon_server.conftest import browser_sign_in
from tests.helpers.daemon import RunningDaemon, daemon_env, running_daemon

MAX_EXAMPLES = 30
BASE_URL = "http://cway-authd"  # the Host header; the connection goes to the socket
USER = "alice@contoso.example"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[tuple[RunningDaemon, requests.Session, str]]:
    with EmulatorServer(auto_approve=True) as emu:
        env = daemon_env(emu.env())
        emu.register_redirect_uri(env["AZURE_REDIRECT_URI"])
        with running_daemon(env) as daemon:
            browser_sign_in(daemon, emu, USER)
            with requests.Session() as session:
                session.mount(BASE_URL, _SocketAdapter(daemon.socket_path))
                yield daemon, session, BASE_URL


class _SocketAdapter(UnixAdapter):
    """requests to ``BASE_URL`` go to the daemon's socket (requests-unixsocket2 reads it from the URL otherwise)."""

    def __init__(self, socket_path: Path) -> None:
        super().__init__(timeout=15)
        self._socket_url = "http+unix://" + quote(str(socket_path), safe="")

    def get_connection(self, url: str, proxies: Any = None) -> Any:
        return super().get_connection(self._socket_url, proxies)


MODES = {"positive": GenerationMode.POSITIVE, "negative": GenerationMode.NEGATIVE}


def _documented() -> list[tuple[str, str, str]]:
    """(method, path, mode) for every documented operation, from the app the daemon serves (listed without a
    daemon); the negative mode only where there is an input to get wrong."""
    spec = create_control_app(None, Path("/unused")).openapi()  # type: ignore[arg-type]
    return [
        (method.upper(), path, mode)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        for mode in MODES
        if mode == "positive" or _constrained(op)
    ]


def _constrained(operation: dict[str, Any]) -> bool:
    """Whether a request can break the document's rules (a free-text path segment alone cannot)."""
    free = {"type", "title", "description"}
    return "requestBody" in operation or any(set(p["schema"]) - free for p in operation.get("parameters", []))


@pytest.mark.parametrize(("method", "path", "mode"), _documented())
def test_every_answer_is_the_documented_one(
    fuzzed: tuple[RunningDaemon, requests.Session, str], method: str, path: str, mode: str
) -> None:
    daemon, session, base_url = fuzzed
    spec = session.get(base_url + Route.OPENAPI, timeout=15).json()  # the document the socket serves
    operation = schemathesis.openapi.from_dict(spec)[path][method]
    checks = [*CHECKS, negative_data_rejection] if mode == "negative" else CHECKS

    @given(case=operation.as_strategy(generation_mode=MODES[mode]))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        response = case.call_and_validate(base_url=base_url, session=session, checks=checks, timeout=15)
        answered[response.status_code] = answered.get(response.status_code, 0) + 1

    answered: dict[int, int] = {}
    run()
    print(f"{method} {path} ({mode}): {sum(answered.values())} requests, statuses {dict(sorted(answered.items()))}")
    assert answered
    assert daemon.call(lambda c: c.health()).pid  # still serving
