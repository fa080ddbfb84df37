"""``cway-mcp serve admin``: list grants, revoke a user or a client, run the way an operator runs it
(the real entry point as a subprocess, output piped), against two replicas on one PostgreSQL.

After ``revoke --user`` the user's access token is refused on the *other* replica at once (no
replica caches a validation), their refresh token is refused, their stored Cway tokens are gone,
and another user carries on. After ``revoke --client`` its tokens fail and its registration is
gone (it must register again).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.fernet import Fernet

from cway_authd.store import KeyMaterial
from cway_emulator.fixtures import ALICE, BOB
from cway_remote import db
from cway_remote.admin_db import AdminDb
from cway_remote.oauth_db import OAuthDb
from cway_remote.pg_store import PgTokenStore, account_key
from tests.helpers.daemon import process_env
from tests.helpers.remote import McpSession, MemoryTokenStorage, OAuthBrowser, Replica, oauth_client, start_replica
from tests.remote.test_pg_store import NOW, record

PROBE = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}


def admin(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cway_mcp_shim", "serve", "admin", *args],
        env=process_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )


async def sign_in(replica: Replica, username: str) -> MemoryTokenStorage:
    url = replica.url + "/mcp"
    storage = MemoryTokenStorage()
    async with McpSession(url, oauth_client(url, OAuthBrowser(username), storage)):
        pass
    assert storage.tokens is not None and storage.client_info is not None
    return storage


def mcp_status(replica: Replica, storage: MemoryTokenStorage) -> int:
    assert storage.tokens is not None
    headers = {
        "Authorization": f"Bearer {storage.tokens.access_token}",
        "Accept": "application/json, text/event-stream",
    }
    return httpx.post(replica.url + "/mcp", json=PROBE, headers=headers).status_code


def refresh(replica: Replica, storage: MemoryTokenStorage) -> httpx.Response:
    assert storage.tokens is not None and storage.client_info is not None
    form = {
        "grant_type": "refresh_token",
        "refresh_token": storage.tokens.refresh_token or "",
        "client_id": storage.client_info.client_id or "",
    }
    return httpx.post(replica.url + "/token", data=form)


def secrets_of(*storages: MemoryTokenStorage) -> list[str]:
    found = []
    for s in storages:
        assert s.tokens is not None
        found += [s.tokens.access_token, s.tokens.refresh_token or ""]
    return found


@pytest.mark.slow
async def test_revoking_a_user_cuts_them_off_on_every_replica(serve_env: dict[str, str], public_port: int) -> None:
    a, b = start_replica(serve_env, public_port), start_replica(serve_env)
    try:
        alice, bob = await sign_in(a, ALICE), await sign_in(a, BOB)
        listed = admin(serve_env, "grants")
        assert listed.returncode == 0, listed.stderr
        lines = [line.split("\t") for line in listed.stdout.splitlines()]
        assert sorted(line[0] for line in lines) == [ALICE, BOB]
        assert all(len(line) == 6 and line[2].startswith("test client for") for line in lines)
        assert mcp_status(b, alice) == 200

        revoked = admin(serve_env, "revoke", "--user", ALICE)
        assert revoked.returncode == 0, revoked.stderr
        assert revoked.stdout.startswith(f"revoked user {ALICE}: 1 grant(s) (2 token(s))")
        assert "stored Cway tokens deleted" in revoked.stdout
        assert '"audit":"admin_revoked"' in revoked.stderr

        assert mcp_status(b, alice) == 401  # the other replica refuses at once
        assert mcp_status(a, alice) == 401
        assert refresh(b, alice).status_code == 400  # invalid_grant: the family is gone
        assert mcp_status(b, bob) == 200  # Bob is untouched
        assert refresh(b, bob).status_code == 200

        assert admin(serve_env, "grants", "--user", ALICE).returncode == 1  # nothing left to list
        again = admin(serve_env, "revoke", "--user", ALICE, "--json")
        assert again.returncode == 1
        assert json.loads(again.stdout)["removed"]["cway_record"] is False
        listed = admin(serve_env, "grants", "--json")
        assert [g["user"] for g in json.loads(listed.stdout)["grants"]] == [BOB]
        for secret in secrets_of(alice, bob):
            for text in (listed.stdout, listed.stderr, revoked.stdout, revoked.stderr):
                assert secret not in text
    finally:
        a.stop()
        b.stop()


@pytest.mark.slow
async def test_revoking_a_client_removes_its_tokens_and_registration(
    serve_env: dict[str, str], public_port: int
) -> None:
    a, b = start_replica(serve_env, public_port), start_replica(serve_env)
    try:
        alice, bob = await sign_in(a, ALICE), await sign_in(a, BOB)  # two clients (the SDK registers each)
        assert alice.client_info is not None and bob.client_info is not None
        client = alice.client_info.client_id or ""
        answer = admin(serve_env, "revoke", "--client", client, "--json")
        assert answer.returncode == 0, answer.stderr
        report = json.loads(answer.stdout)
        assert report["client"] == client and report["client_name"] == f"test client for {ALICE}"
        assert report["removed"] | {"tokens": 0} == {
            "grants": 1,
            "tokens": 0,
            "codes": 0,
            "consents": report["removed"]["consents"],
            "cway_record": False,
            "registration": True,
        }
        assert mcp_status(b, alice) == 401
        assert refresh(b, alice).status_code in (400, 401)  # the client is unknown now
        authorize = httpx.get(
            b.url + "/authorize",
            params={"client_id": client, "response_type": "code", "code_challenge": "x" * 43},
        )
        assert authorize.status_code == 400 and "client" in authorize.text.lower()  # must register again
        assert mcp_status(b, bob) == 200
        assert admin(serve_env, "grants", "--client", client).returncode == 1
        assert admin(serve_env, "revoke", "--client", client).returncode == 1
    finally:
        a.stop()
        b.stop()


@pytest.mark.slow
def test_admin_usage_and_configuration_errors_exit_2(serve_env: dict[str, str]) -> None:
    assert admin(serve_env, "revoke").returncode == 2  # --user or --client is required
    broken = dict(serve_env, CWAY_MCP_DATABASE_URL="mysql://u:hunter2@h/d")
    answer = admin(broken, "grants")
    assert answer.returncode == 2 and "hunter2" not in answer.stderr + answer.stdout
    bad_key = admin(dict(serve_env, CWAY_MCP_STORE_KEY="not-a-fernet-key-hunter2"), "grants")
    assert bad_key.returncode == 2, bad_key.stderr
    assert "CWAY_MCP_STORE_KEY" in bad_key.stderr and "hunter2" not in bad_key.stderr + bad_key.stdout


@pytest.fixture
async def admin_db(database_url: str) -> AsyncIterator[tuple[AdminDb, OAuthDb, PgTokenStore]]:
    from cway_contract.clock import ManualClock

    pool = await db.create_pool(database_url, max_size=4)
    await db.migrate(pool)
    keys = KeyMaterial([Fernet.generate_key()], "test", None)
    oauth = OAuthDb(pool, keys)
    store = PgTokenStore(pool, keys, ManualClock(NOW), due_at=lambda r: r.access_expires_at)
    yield AdminDb(pool, oauth, store), oauth, store
    await pool.close()


async def test_a_revoked_user_or_client_gets_no_new_tokens_from_a_code_redeemed_afterwards(
    admin_db: tuple[AdminDb, OAuthDb, PgTokenStore],
) -> None:
    """The race the grant locks close: a code taken before the revocation, exchanged after it."""
    admin_, oauth, store = admin_db
    await store.save(record(ALICE))
    await oauth.save_client("c1", {"client_id": "c1", "client_name": "one"}, NOW)
    issue = {
        "client_id": "c1",
        "subject": account_key(ALICE),
        "scopes": ["cway"],
        "resource": "https://mcp.example.com/mcp",
        "now": NOW,
        "access_lifetime": timedelta(minutes=15),
        "refresh_lifetime": timedelta(days=30),
    }
    assert await oauth.issue(family="f1", **issue) is not None  # type: ignore[arg-type]
    grants = await admin_.grants(NOW)
    assert [(g.user, g.client_id, g.client_name, g.created) for g in grants] == [(ALICE, "c1", "one", NOW)]
    assert grants[0].expires == NOW + timedelta(days=30)
    removed = await admin_.revoke_user(account_key(ALICE))
    assert (removed.grants, removed.tokens, removed.cway_record) == (1, 2, True)
    assert await oauth.issue(family="f2", **issue) is None  # type: ignore[arg-type]
    await store.save(record(ALICE))  # signs in again: grants work again, until the client goes
    assert await oauth.issue(family="f3", **issue) is not None  # type: ignore[arg-type]
    assert (await admin_.revoke_client("c1")).registration
    assert await oauth.issue(family="f4", **issue) is None  # type: ignore[arg-type]
    assert await admin_.grants(datetime.now(UTC)) == []
