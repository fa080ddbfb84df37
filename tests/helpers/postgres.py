"""A real, throwaway PostgreSQL server for tests: a temporary cluster on a free loopback port.

The binaries are Debian's ``postgresql`` package (the Makefile installs it where apt is
available); ``initdb`` and ``postgres`` refuse to run as root, so when the tests run as root the
cluster directory is handed to the unprivileged ``nobody`` user and every server command runs
as that user (``setpriv``). The cluster listens on 127.0.0.1 only, trusts local connections
(the port is reachable from this machine alone, for the life of one test session) and is
stopped and deleted afterwards.

:func:`find_pg_bin` returns None where no server is installed; the fixtures turn that into a
skip that says so.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.daemon import free_port

NOBODY_UID = 65534
NOBODY_GID = 65534
SKIP_REASON = (
    "no PostgreSQL server binaries (initdb/pg_ctl) found: install Debian's 'postgresql' package "
    "(make .tools/.postgresql does it where apt is available)"
)


def find_pg_bin() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: $CWAY_TEST_PG_BIN, Debian's layout, or PATH."""
    explicit = os.environ.get("CWAY_TEST_PG_BIN")
    candidates = [explicit] if explicit else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).parent))
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").is_file() and (Path(candidate) / "pg_ctl").is_file():
            return Path(candidate)
    return None


def _version_key(path: str) -> int:
    try:
        return int(Path(path).parent.name)
    except ValueError:
        return 0


@dataclass
class PgCluster:
    """A running temporary cluster; :meth:`create_database` gives each test its own database."""

    bin_dir: Path
    base: Path
    port: int
    as_nobody: bool

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_nobody:
            cmd = ["setpriv", f"--reuid={NOBODY_UID}", f"--regid={NOBODY_GID}", "--clear-groups", *cmd]
        return subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, check=False, env=_pg_env(), cwd=self.base
        )

    def start(self) -> None:
        data = self.base / "data"
        result = self._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed: {result.stderr[-2000:]}")
        self.start_server()

    def start_server(self) -> None:
        """Start the server of an initialised cluster (again, after :meth:`stop_server`), on the same port."""
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.base} -c fsync=off -c full_page_writes=off "
            "-c max_connections=200 -c shared_buffers=32MB"
        )
        data = self.base / "data"
        result = self._run("pg_ctl", "-D", str(data), "-l", str(self.base / "server.log"), "-o", options, "-w", "start")
        if result.returncode != 0:
            log = (self.base / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"pg_ctl start failed: {result.stderr[-1000:]}\n{log}")

    def stop_server(self) -> None:
        """Stop the server as an operator's restart does (``-m fast``: sessions are ended), keeping the data."""
        result = self._run("pg_ctl", "-D", str(self.base / "data"), "-m", "fast", "-w", "stop", timeout=30)
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl stop failed: {result.stderr[-1000:]}")

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run("pg_ctl", "-D", str(self.base / "data"), "-m", "immediate", "-w", "stop", timeout=30)
        shutil.rmtree(self.base, ignore_errors=True)

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        name = "t_" + uuid.uuid4().hex[:12]
        result = self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        if result.returncode != 0:
            raise RuntimeError(f"createdb failed: {result.stderr[-1000:]}")
        return self.url(name)


def _pg_env() -> dict[str, str]:
    """A minimal environment: no PG* variables from the developer's shell leak into the cluster."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}


@contextlib.contextmanager
def temporary_cluster() -> Iterator[PgCluster]:
    """Start a cluster, yield it, always stop and delete it. Raises LookupError without binaries."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise LookupError(SKIP_REASON)
    as_nobody = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="cw-pg-", dir="/tmp"))
    if as_nobody:
        os.chown(base, NOBODY_UID, NOBODY_GID)
    cluster = PgCluster(bin_dir=bin_dir, base=base, port=free_port(), as_nobody=as_nobody)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
