"""``make demo-remote``: ``cway-mcp serve`` as an organisation would run it, all on loopback.

A temporary PostgreSQL cluster, the Entra + Cway emulator, two replicas of ``cway-mcp serve``
behind a round-robin balancer (the public URL), and the mcp SDK's OAuth client signing two people
in: discovery, registration, Entra, the Cway exchange, consent, then tools as each person. Then a
due token refreshed once for many concurrent calls across both replicas, and one replica killed
while the other carries on.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
from cryptography.fernet import Fernet

from cway_emulator.fixtures import ALICE, BOB
from cway_emulator.server import EmulatorServer
from tests.helpers.balancer import Balancer, serving
from tests.helpers.daemon import free_port, short_tmpdir
from tests.helpers.postgres import SKIP_REASON, find_pg_bin, temporary_cluster
from tests.helpers.remote import (
    McpSession,
    MemoryTokenStorage,
    OAuthBrowser,
    oauth_client,
    post_tool_call,
    remote_env,
    start_replica,
)


def say(text: str) -> None:
    print(text, flush=True)


async def sign_in_and_work(url: str, user: str) -> str:
    storage = MemoryTokenStorage()
    browser = OAuthBrowser(user)
    async with McpSession(url, oauth_client(url, browser, storage)) as session:
        me = await session.call_tool("whoami", {})
        projects = await session.call_tool("list_projects", {})
        assert me.structured_content is not None and projects.structured_content is not None
        total = projects.structured_content.get("total", len(projects.structured_content.get("projects", [])))
        say(
            f"  {user}: signed in at Entra, consent page approved; whoami = {me.structured_content['username']} "
            f"({me.structured_content['organisation']}); list_projects sees {total} project(s)"
        )
    assert storage.tokens is not None
    say(f"  the client holds only this server's tokens: access {storage.tokens.access_token[:10]}…, no Cway token")
    return storage.tokens.access_token


async def make_due(database_url: str, key: str, username: str) -> None:
    from cway_contract.clock import SYSTEM_CLOCK
    from cway_remote.pg_store import PgTokenStore
    from cway_remote.refresh import refresh_due_at
    from tests.remote.test_replicas import _Keys

    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        store = PgTokenStore(pool, _Keys(key), SYSTEM_CLOCK, due_at=lambda r: refresh_due_at(r, timedelta(minutes=5)))
        record = await store.load(username)
        assert record is not None
        now = SYSTEM_CLOCK.now()
        await store.save(
            record.replace(access_expires_at=now + timedelta(seconds=60), created_at=now - timedelta(hours=1))
        )
    finally:
        await pool.close()


async def call(http: httpx.AsyncClient, url: str, token: str) -> bool:
    response = await post_tool_call(http, url, token, "list_organisations", {})
    return response.status_code == 200 and not response.json()["result"].get("isError")


async def story(
    emu: EmulatorServer, public: str, database_url: str, key: str, balancer: Balancer, replicas: list[Any]
) -> None:
    url = public + "/mcp"
    say("\n2. Two people sign in with the mcp SDK's OAuth client (discovery, registration, PKCE):")
    alice = await sign_in_and_work(url, ALICE)
    await sign_in_and_work(url, BOB)
    say(f"  requests per replica so far: {dict(balancer.served)}")

    say("\n3. Alice's Cway token is due; 40 concurrent tool calls through the balancer:")
    await make_due(database_url, key, ALICE)
    before = emu.counters.get("cway_token_refresh", 0)
    async with httpx.AsyncClient(timeout=60) as http:
        results = await asyncio.gather(*(call(http, url, alice) for _ in range(40)))
    say(
        f"  {sum(results)}/40 succeeded; refreshes at Cway: {emu.counters.get('cway_token_refresh', 0) - before} "
        f"(one row lock across both replicas); per replica: {dict(balancer.served)}"
    )

    say("\n4. Replica 1 is killed (SIGKILL); the balancer sends everything to replica 2:")
    replicas[0].kill()
    async with httpx.AsyncClient(timeout=60) as http:
        results = await asyncio.gather(*(call(http, url, alice) for _ in range(10)))
    say(f"  {sum(results)}/10 calls succeeded on the surviving replica; per replica: {dict(balancer.served)}")


def main() -> int:
    if find_pg_bin() is None:
        say(f"demo-remote needs PostgreSQL: {SKIP_REASON}")
        return 1
    base = short_tmpdir("cw-demo-remote-")
    key = Fernet.generate_key().decode()
    try:
        with temporary_cluster() as cluster, EmulatorServer() as emu:
            port = free_port()
            public = f"http://127.0.0.1:{port}"
            emu.register_redirect_uri(public + "/oauth/callback")
            database_url = cluster.create_database()
            env = remote_env(base, emu.env(), public_url=public, database_url=database_url, key=key)
            say("1. PostgreSQL (temporary cluster), the Entra + Cway emulator, two replicas of `cway-mcp serve`:")
            replicas = [start_replica(env), start_replica(env)]
            balancer = Balancer([r.url for r in replicas])
            say(f"  replicas on {', '.join(r.url for r in replicas)}, balancer (the public URL) on {public}")
            try:
                with serving(balancer.app, port):
                    asyncio.run(story(emu, public, database_url, key, balancer, replicas))
            finally:
                for replica in replicas:
                    replica.stop()
            say("\nDone.")
    finally:
        if "--keep" not in sys.argv:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
