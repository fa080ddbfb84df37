"""``cway-mcp serve`` from the installed wheel, on PostgreSQL, as the Dockerfile runs it.

No container engine runs on the test machine (see docs/deploy.md), so this test performs the
image's steps itself and reads the Dockerfile to stay in step with it: the wheel built from the
sdist installed with the ``remote`` extra (the tier's venv), a non-root user (a throwaway system
user made with ``useradd`` when the tests run as root; the tests' own user otherwise), the CMD's
``cway-mcp serve``, and the HEALTHCHECK's own command. Then ``/healthz``, ``/readyz`` (PostgreSQL
answers, schema current) and a sign-in with the SDK's OAuth client followed by tool calls.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import secrets
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from cway_emulator.fixtures import ALICE
from cway_emulator.server import EmulatorServer
from tests.helpers.artifacts import InstalledVenv
from tests.helpers.daemon import free_port, short_tmpdir
from tests.helpers.postgres import PgCluster
from tests.helpers.remote import (
    McpSession,
    MemoryTokenStorage,
    OAuthBrowser,
    oauth_client,
    remote_env,
    start_replica,
)
from tests.helpers.repo import REPO

pytestmark = pytest.mark.slow


def final_stage(dockerfile: Path) -> dict[str, list[str]]:
    """The last stage's instructions (continuation lines joined): keyword -> its arguments, in order."""
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text(encoding="utf-8"))
    stages: list[dict[str, list[str]]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        keyword, _, rest = line.strip().partition(" ")
        if keyword.upper() == "FROM":
            stages.append({})
        stages[-1].setdefault(keyword.upper(), []).append(rest.strip())
    return stages[-1]


def test_the_dockerfile_reads_as_this_test_runs_it() -> None:
    stage = final_stage(REPO / "Dockerfile")
    assert stage["USER"] and stage["USER"][-1] not in ("root", "0")
    assert any(re.search(r"pip install .*cway_mcp-\*\.whl\)?\[remote\]", run) for run in stage["RUN"]), stage["RUN"]
    assert json.loads(stage["CMD"][-1])[:2] == ["cway-mcp", "serve"]


@pytest.fixture
def service_user(installed: InstalledVenv) -> Iterator[tuple[list[str], int]]:
    """(argv prefix that runs a command as the user, uid) for a non-root user, as the image's USER."""
    if os.geteuid() != 0:
        yield [], os.geteuid()  # already not root
        return
    if shutil.which("useradd") is None or shutil.which("setpriv") is None:
        pytest.skip("running as root without useradd/setpriv: cannot run the server as a non-root user")
    name = f"cwmcp-{secrets.token_hex(4)}"
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    try:
        entry = pwd.getpwnam(name)
        yield [
            "setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups",
        ], entry.pw_uid  # fmt: skip
    finally:
        subprocess.run(["userdel", name], capture_output=True, timeout=60, check=False)


@pytest.fixture
def base_dir(service_user: tuple[list[str], int]) -> Iterator[Path]:
    base = short_tmpdir("cw-serve-")
    os.chown(base, service_user[1], -1)
    yield base
    shutil.rmtree(base, ignore_errors=True)


async def test_serve_as_the_image_runs_it(
    installed: InstalledVenv, pg_cluster: PgCluster, service_user: tuple[list[str], int], base_dir: Path
) -> None:
    as_user, uid = service_user
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    stage = final_stage(REPO / "Dockerfile")
    with EmulatorServer() as emu:
        emu.register_redirect_uri(public + "/oauth/callback")
        env = remote_env(
            base_dir, emu.env(), public_url=public, database_url=pg_cluster.create_database(),
            key=Fernet.generate_key().decode(),
        )  # fmt: skip
        env["PYTHONUNBUFFERED"] = "1"  # the image's ENV (its state dir is replaced by this test's)
        os.chown(base_dir / "home", uid, -1)  # the user's HOME; the state dir is made by the server
        replica = start_replica(env, port, command=[*as_user, str(installed.exe("cway-mcp"))])
        try:
            assert os.stat(f"/proc/{replica.process.pid}").st_uid == uid  # not root
            assert uid != 0
            health = httpx.get(public + "/healthz", timeout=10)
            assert health.status_code == 200 and health.json()["status"] == "ok"
            ready = httpx.get(public + "/readyz", timeout=10)
            assert ready.status_code == 200 and ready.json()["status"] == "ready", ready.text

            # the image's HEALTHCHECK, its port replaced by this server's
            (check,) = stage["HEALTHCHECK"]
            argv = shlex.split(check.split(" CMD ", 1)[1].replace(":8000/", f":{port}/"))
            assert argv[0] == "python"
            probe = subprocess.run(
                [*as_user, str(installed.python), *argv[1:]], capture_output=True, timeout=30, check=False
            )
            assert probe.returncode == 0, probe.stderr

            url = public + "/mcp"
            async with McpSession(url, oauth_client(url, OAuthBrowser(ALICE), MemoryTokenStorage())) as session:
                me = await session.call_tool("whoami", {})
                assert not me.is_error and me.structured_content is not None, me
                assert me.structured_content["username"] == ALICE
                projects = await session.call_tool("list_projects", {})
                assert not projects.is_error, projects
        finally:
            replica.stop()
        assert "Traceback" not in replica.log_text(), replica.log_text()[-3000:]
