"""``python -m cway_emulator`` prints usable env lines and stops cleanly on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx

from tests.helpers.repo import with_emulator_path


def test_cli_prints_env_and_stops_on_sigint() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cway_emulator", "--auto-approve", "--quiet",
         "--redirect-uri", "http://127.0.0.1:5/cb"],
        env=with_emulator_path(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        env: dict[str, str] = {}
        while len(env) < 5:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "no output"
            key, _, value = line.removeprefix("export ").strip().partition("=")
            env[key] = value
        assert set(env) == {"AZURE_AUTHORITY", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "CWAY_API_URL", "CWAY_TOKEN_URL"}
        doc = httpx.get(env["AZURE_AUTHORITY"] + "/.well-known/openid-configuration", trust_env=False).json()
        assert doc["issuer"] == env["AZURE_AUTHORITY"]
        resp = httpx.post(env["CWAY_API_URL"], json={"query": "{ loginInfo { id } }"}, trust_env=False)
        assert resp.status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
