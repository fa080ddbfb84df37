"""Run the official MCP conformance suite (npm ``@modelcontextprotocol/conformance``) against ``cway-mcp serve``.

``make conformance`` calls this. It starts everything on loopback: a temporary PostgreSQL
cluster, the emulator, one replica; signs a user in with the mcp SDK's OAuth client; then runs
the suite's server scenarios against the replica's ``/mcp``. The suite speaks no OAuth itself,
so it reaches the replica through a small loopback forwarder that adds that user's bearer token
(this server's own token: the suite never sees a Cway or Entra token).

Scenarios that test features of the suite's reference server (tools named ``test_image_content``,
prompts, sampling...) do not apply to the Cway tools; they are listed in
``tests/conformance-expected-failures.yml`` with the reason, so the run fails only on a scenario
that should pass. Usage: ``python -m tests.conformance_remote [--node PATH] [--cli PATH] [-- suite args]``.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from cway_emulator.fixtures import ALICE
from cway_emulator.server import EmulatorServer
from tests.helpers.balancer import Balancer, serving
from tests.helpers.daemon import free_port, short_tmpdir
from tests.helpers.postgres import temporary_cluster
from tests.helpers.remote import McpSession, MemoryTokenStorage, OAuthBrowser, oauth_client, remote_env, start_replica

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = ROOT / "tests" / "conformance-expected-failures.yml"


async def sign_in(url: str) -> str:
    storage = MemoryTokenStorage()
    async with McpSession(url, oauth_client(url, OAuthBrowser(ALICE), storage)):
        pass
    assert storage.tokens is not None
    return storage.tokens.access_token


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--node", default=str(ROOT / ".tools/conformance/node_modules/.bin/node"))
    parser.add_argument(
        "--cli", default=str(ROOT / ".tools/conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js")
    )
    parser.add_argument("suite_args", nargs="*")
    args = parser.parse_args(argv)
    if not Path(args.node).exists() or not Path(args.cli).exists():
        print("conformance suite not installed (make .tools/.conformance needs npm); skipped", file=sys.stderr)
        return 0
    base = short_tmpdir("cw-conf-")
    try:
        with temporary_cluster() as cluster, EmulatorServer() as emu:
            port = free_port()
            public = f"http://127.0.0.1:{port}"
            emu.register_redirect_uri(public + "/oauth/callback")
            env = remote_env(
                base,
                emu.env(),
                public_url=public,
                database_url=cluster.create_database(),
                key=Fernet.generate_key().decode(),
            )
            replica = start_replica(env, port)
            try:
                token = asyncio.run(sign_in(public + "/mcp"))
                proxy_port = free_port()
                with serving(Balancer([public], bearer=token).app, proxy_port):
                    command = [
                        args.node,
                        args.cli,
                        "server",
                        "--url",
                        f"http://127.0.0.1:{proxy_port}/mcp",
                        "--expected-failures",
                        str(EXPECTED),
                        *args.suite_args,
                    ]
                    return subprocess.run(command, check=False, timeout=900).returncode
            finally:
                replica.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
