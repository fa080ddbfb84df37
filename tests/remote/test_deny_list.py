"""The deny list in the provider and the database (real PostgreSQL, no replica): a denied client id is
refused before its cached metadata document is used or a document is fetched, a document fetched
while the id was being denied is not cached, no token is issued to a denied client, and ``allow``
lets a metadata-document client be fetched again. The whole flow through replicas and the CLI is
``test_admin_deny.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from cryptography.fernet import Fernet
from mcp.server.auth.provider import RegistrationError
from mcp.shared.auth import OAuthClientInformationFull

from cway_authd.store import KeyMaterial
from cway_contract.clock import ManualClock
from cway_emulator.fixtures import ALICE
from cway_remote import db
from cway_remote.admin_output import field
from cway_remote.cimd import cache_entry
from cway_remote.deny_list import DenyList
from cway_remote.oauth_db import OAuthDb
from cway_remote.pg_store import PgTokenStore, account_key
from cway_remote.provider import CwayOAuthProvider
from cway_remote.settings import load_remote_settings
from tests.remote.test_pg_store import NOW, record

URL = "https://127.0.0.1:9/client.json"  # loopback: the fetch goes to the mock transport
DOCUMENT = {"client_id": URL, "client_name": "Doc client", "redirect_uris": ["http://127.0.0.1:1/cb"]}


class Audit:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def event(self, event: str, **fields: Any) -> None:
        self.events.append((event, fields))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]


class Fixture:
    def __init__(self, pool: asyncpg.Pool, provider: CwayOAuthProvider, oauth: OAuthDb, audit: Audit) -> None:
        self.pool, self.provider, self.oauth, self.audit = pool, provider, oauth, audit
        self.fetches: list[httpx.Request] = []
        self.deny_list = DenyList(pool)

    async def deny_row_only(self, client_id: str) -> None:
        """The denial as the list stores it, leaving everything else in place (a cached document, a
        registration): what a replica sees is the row, whatever else is still there."""
        async with self.pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO oauth_denied_clients (client_id, denied_by, denied_at) VALUES ($1, 'test', $2)",
                client_id,
                NOW,
            )


@pytest.fixture
async def fx(database_url: str, tmp_path: Path) -> AsyncIterator[Fixture]:
    (tmp_path / "config.toml").touch()
    env = {
        "CWAY_MCP_CONFIG": str(tmp_path / "config.toml"),
        "AZURE_CLIENT_ID": "client",
        "AZURE_TENANT_ID": "contoso.example",
        "CWAY_MCP_PUBLIC_URL": "http://127.0.0.1:8000",
        "CWAY_MCP_DATABASE_URL": database_url,
        "CWAY_MCP_STORE_KEY": Fernet.generate_key().decode(),
    }
    settings = load_remote_settings(env, cwd=tmp_path)
    pool = await db.create_pool(database_url, max_size=4)
    await db.migrate(pool)
    keys = KeyMaterial([Fernet.generate_key()], "test", None)
    oauth = OAuthDb(pool, keys)
    clock = ManualClock(NOW)
    store = PgTokenStore(pool, keys, clock, due_at=lambda r: r.access_expires_at)
    audit = Audit()
    fetches: list[httpx.Request] = []

    def serve(request: httpx.Request) -> httpx.Response:
        fetches.append(request)
        return httpx.Response(200, json=DOCUMENT)

    async with httpx.AsyncClient(transport=httpx.MockTransport(serve)) as http:
        provider = CwayOAuthProvider(settings=settings, db=oauth, store=store, clock=clock, audit=audit, http=http)
        fixture = Fixture(pool, provider, oauth, audit)
        fixture.fetches = fetches
        await store.save(record(ALICE))
        yield fixture
    await pool.close()


async def test_a_denied_metadata_url_is_neither_fetched_nor_served_from_the_cache(fx: Fixture) -> None:
    first = await fx.provider.get_client(URL)
    assert first is not None and first.client_name == "Doc client" and len(fx.fetches) == 1
    assert await fx.provider.get_client(URL) is not None and len(fx.fetches) == 1  # cached

    await fx.deny_row_only(URL)  # the cached document is still in oauth_clients
    assert await fx.provider.get_client(URL) is None
    assert len(fx.fetches) == 1  # neither the cache nor a fetch
    assert fx.audit.events[-1] == ("client_denied", {"client_id": URL})

    # a document fetched on another replica while the denial committed is not cached
    info = OAuthClientInformationFull.model_validate({**DOCUMENT, "token_endpoint_auth_method": "none"})
    assert not await fx.oauth.save_client(URL, cache_entry(info, NOW), NOW)

    assert await fx.deny_list.allow(URL)
    assert not await fx.deny_list.allow(URL)  # nothing to lift any more
    assert await fx.provider.get_client(URL) is not None


async def test_deny_revokes_like_revoke_and_allow_makes_the_document_be_fetched_again(fx: Fixture) -> None:
    assert await fx.provider.get_client(URL) is not None and len(fx.fetches) == 1
    issue: dict[str, Any] = {
        "client_id": URL,
        "subject": account_key(ALICE),
        "scopes": ["cway"],
        "resource": "http://127.0.0.1:8000/mcp",
        "now": NOW,
        "access_lifetime": timedelta(minutes=15),
        "refresh_lifetime": timedelta(days=30),
    }
    pair = await fx.oauth.issue(family="f1", **issue)
    assert pair is not None

    new, removed = await fx.deny_list.deny(URL, reason="phishing", by="ops@host", now=NOW)
    assert new and (removed.grants, removed.tokens, removed.registration) == (1, 2, True)
    again, removed = await fx.deny_list.deny(URL, reason=None, by="ops@host", now=NOW + timedelta(hours=1))
    assert not again and not removed.anything
    [entry] = await fx.deny_list.listing()
    assert (entry.client_id, entry.reason, entry.denied_by, entry.denied_at) == (URL, "phishing", "ops@host", NOW)
    assert await fx.oauth.token(pair.access_token) is None
    assert await fx.provider.get_client(URL) is None and len(fx.fetches) == 1
    assert await fx.oauth.issue(family="f2", **issue) is None  # a code redeemed after the denial gets nothing

    assert await fx.deny_list.allow(URL)
    assert await fx.deny_list.listing() == []
    assert await fx.provider.get_client(URL) is not None and len(fx.fetches) == 2  # fetched afresh
    assert await fx.oauth.issue(family="f3", **issue) is not None


async def test_a_denied_registered_client_is_unknown_gets_no_tokens_and_cannot_be_registered_again(
    fx: Fixture,
) -> None:
    registered = OAuthClientInformationFull.model_validate(
        {"client_id": "c-1", "client_name": "Registered", "redirect_uris": ["http://127.0.0.1:1/cb"]}
    )
    other = registered.model_copy(update={"client_id": "c-2"})
    await fx.provider.register_client(registered)
    await fx.provider.register_client(other)
    issue: dict[str, Any] = {
        "subject": account_key(ALICE),
        "scopes": ["cway"],
        "resource": None,
        "now": NOW,
        "access_lifetime": timedelta(minutes=15),
        "refresh_lifetime": timedelta(days=30),
    }
    await fx.deny_row_only("c-1")  # its registration row is still there: the deny row alone refuses
    assert await fx.provider.get_client("c-1") is None
    assert await fx.oauth.issue(client_id="c-1", family="f1", **issue) is None
    with pytest.raises(RegistrationError) as refused:
        await fx.provider.register_client(registered)
    assert refused.value.error == "invalid_client_metadata"
    assert fx.audit.names().count("client_denied") == 2
    assert await fx.provider.get_client("c-2") is not None  # another client is unaffected
    assert await fx.oauth.issue(client_id="c-2", family="f2", **issue) is not None
    assert not fx.fetches


def test_printed_columns_hold_no_control_characters() -> None:
    """A client names itself in its metadata document: nothing in it may shift a column or drive
    the operator's terminal."""
    assert field("Evil\x1b]0;owned\x07\tapp\nname") == "Evil ]0;owned  app name"
    assert field(None) == "-" and field(NOW) == NOW.isoformat()
