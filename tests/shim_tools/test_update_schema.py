"""``make update-schema`` (tests/update_schema.py): the shipped schema refreshed from introspection.

Against the emulator, which serves Cway's schema and answers introspection like Cway, the script
run as ``make`` runs it reproduces the shipped file byte for byte (so a refresh of an unchanged API
is an empty diff). pytest-httpx pins the request it sends and shows a changed schema is written;
refusals leave the file alone and never echo the token.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from graphql import build_schema, get_introspection_query, graphql_sync
from pytest_httpx import HTTPXMock

from cway_emulator.server import EmulatorServer
from tests.helpers.repo import REPO, with_emulator_path
from tests.update_schema import SCHEMA_FILE, UpdateFailed, update

TOKEN = "cway-static-alice-0001"  # the emulator's seeded static API token (alice)


def run_script(*args: str, token: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in with_emulator_path().items() if not k.startswith(("CWAY_", "AZURE_"))}
    if token is not None:
        env["CWAY_API_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "tests.update_schema", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.slow
def test_introspecting_the_emulator_reproduces_the_shipped_schema(tmp_path: Path) -> None:
    target = tmp_path / "schema.graphql"
    with EmulatorServer() as emu:
        first = run_script("--url", emu.cway_api_url, "--output", str(target), token=TOKEN)
        assert first.returncode == 0, first.stderr
        assert "updated" in first.stdout
        assert target.read_bytes() == SCHEMA_FILE.read_bytes()
        again = run_script("--url", emu.cway_api_url, "--output", str(target), token=TOKEN)
        assert again.returncode == 0 and "up to date" in again.stdout, again.stdout + again.stderr
        refused = run_script("--url", emu.cway_api_url, "--output", str(target), token="not-a-token")
    assert refused.returncode == 1 and "HTTP 401" in refused.stderr, refused.stderr
    assert target.read_bytes() == SCHEMA_FILE.read_bytes()  # a refusal rewrites nothing
    for done in (first, again, refused):
        assert TOKEN not in done.stdout + done.stderr and "not-a-token" not in done.stdout + done.stderr


def test_without_a_token_it_says_where_the_token_goes(tmp_path: Path) -> None:
    done = run_script("--output", str(tmp_path / "s.graphql"), token=None)
    assert done.returncode == 2 and "CWAY_API_TOKEN" in done.stderr
    assert not (tmp_path / "s.graphql").exists()


SMALL = "type Query {\n  hello: String\n}"


def test_a_changed_schema_is_written_from_the_exact_request(tmp_path: Path, httpx_mock: HTTPXMock) -> None:
    result = graphql_sync(build_schema(SMALL), get_introspection_query(descriptions=True))
    httpx_mock.add_response(url="https://cway.test/graphql", method="POST", json={"data": result.data})
    target = tmp_path / "schema.graphql"
    target.write_text("type Query {\n  old: String\n}", encoding="utf-8")
    with httpx.Client() as client:
        line = update("https://cway.test/graphql", "tok-123", target, client=client)
    assert "updated" in line and "tok-123" not in line
    assert target.read_text(encoding="utf-8") == SMALL
    (sent,) = httpx_mock.get_requests()
    assert sent.headers["authorization"] == "Bearer tok-123"
    assert json.loads(sent.content) == {"query": get_introspection_query(descriptions=True)}


def test_graphql_errors_are_one_line_and_the_file_stays(tmp_path: Path, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"errors": [{"message": "introspection is disabled"}]})
    target = tmp_path / "schema.graphql"
    target.write_text(SMALL, encoding="utf-8")
    with httpx.Client() as client, pytest.raises(UpdateFailed, match="introspection is disabled"):
        update("https://cway.test/graphql", "tok-123", target, client=client)
    assert target.read_text(encoding="utf-8") == SMALL
    assert os.stat(target).st_size == len(SMALL)
