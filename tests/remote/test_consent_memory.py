"""Remembered consent, in one process so the server and the emulator share a ``ManualClock``
(expiry is tested by moving the clock, never by sleeping).

The real app (``build_app``) serves on a pre-bound loopback socket with uvicorn; the test's
"browser" (:class:`OAuthBrowser`) goes /authorize → Entra sign-in → callback → consent page (or
not). Remembered per (user, client, redirect URI, scopes); asked again for another user, another
redirect URI, other scopes, after the remembered period, and after an admin revocation.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn

from cway_contract.clock import ManualClock
from cway_emulator.browser import browser_sign_in_async
from cway_emulator.fixtures import ALICE, BOB
from cway_emulator.server import EmulatorServer
from cway_remote.admin_db import AdminDb
from cway_remote.app import RemoteRuntime, build_app
from cway_remote.consents import ConsentDb
from cway_remote.pg_store import account_key
from cway_remote.settings import load_remote_settings
from tests.helpers.remote import OAuthBrowser, remote_env

R1, R2 = "http://127.0.0.1:1/cb-one", "http://127.0.0.1:1/cb-two"


@dataclass
class Served:
    url: str  # where the test connects (plain http on loopback)
    runtime: RemoteRuntime
    clock: ManualClock

    @property
    def resource(self) -> str:
        return self.runtime.settings.resource_url  # <public URL>/mcp, https when the test asks for it

    @property
    def admin(self) -> AdminDb:
        return AdminDb(self.runtime.pool, self.runtime.oauth, self.runtime.store)

    async def register(self, *redirect_uris: str) -> str:
        async with httpx.AsyncClient() as http:
            answer = await http.post(
                self.url + "/register",
                json={
                    "redirect_uris": list(redirect_uris),
                    "client_name": "consent test client",
                    "token_endpoint_auth_method": "none",
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"],
                },
            )
        assert answer.status_code == 201, answer.text
        client_id: str = answer.json()["client_id"]
        return client_id

    def authorize_url(self, client_id: str, redirect_uri: str, challenge: str) -> str:
        query = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "st",
            "resource": self.resource,
        }
        return f"{self.url}/authorize?{urlencode(query)}"

    async def authorize(self, client_id: str, redirect_uri: str, user: str) -> tuple[bool, str, str]:
        """(consent page shown?, our code, the PKCE verifier) for one authorization."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        browser = OAuthBrowser(user)
        result = await browser.sign_in(self.authorize_url(client_id, redirect_uri, challenge))
        return browser.consent_shown, result.code, verifier


@pytest.fixture(params=[{}])
async def served(
    request: pytest.FixtureRequest, base_dir: Path, database_url: str, store_key: str
) -> AsyncIterator[Served]:
    clock = ManualClock(datetime.now(UTC))  # starts at the real time: the SDK checks a code's expiry with time.time()
    with EmulatorServer(clock=clock) as emu:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)  # connections wait in the backlog until uvicorn accepts: no start-up polling
        port = sock.getsockname()[1]
        public = f"{'https' if request.param.get('https') else 'http'}://127.0.0.1:{port}"
        emu.register_redirect_uri(public + "/oauth/callback")
        env = remote_env(base_dir, emu.env(), public_url=public, database_url=database_url, key=store_key)
        env["CWAY_MCP_CONSENT_DAYS"] = str(request.param.get("days", 90))
        runtime = await RemoteRuntime.create(load_remote_settings(env, cwd=base_dir), clock=clock, pool_size=4)
        server = uvicorn.Server(uvicorn.Config(build_app(runtime), log_config=None, access_log=False))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            yield Served(f"http://127.0.0.1:{port}", runtime, clock)
        finally:
            server.should_exit = True
            await task
            await runtime.aclose()
            sock.close()


async def test_consent_is_remembered_per_user_client_redirect_and_scopes_until_it_expires(served: Served) -> None:
    client = await served.register(R1, R2)
    shown, _, _ = await served.authorize(client, R1, ALICE)
    assert shown  # the first time: asked

    shown, code, verifier = await served.authorize(client, R1, ALICE)
    assert not shown  # the same user, client, redirect URI and scopes: not asked again
    async with httpx.AsyncClient() as http:  # the remembered path gives a working grant
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": R1, "client_id": client}
        tokens = await http.post(served.url + "/token", data=form | {"code_verifier": verifier})
        assert tokens.status_code == 200, tokens.text
        headers = {"Authorization": f"Bearer {tokens.json()['access_token']}", "Accept": "application/json"}
        probe = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        assert (await http.post(served.url + "/mcp", json=probe, headers=headers)).status_code == 200

    assert (await served.authorize(client, R1, BOB))[0]  # another user: asked
    assert (await served.authorize(client, R2, ALICE))[0]  # another redirect URI: asked
    assert not (await served.authorize(client, R2, ALICE))[0]

    # Other scopes: a consent remembered for {cway, extra} does not cover a request for {cway} (and
    # the reverse), so a change of scopes asks again.
    other = await served.register(R1)
    consents = ConsentDb(served.runtime.pool)
    await consents.remember(
        subject=account_key(ALICE),
        client_id=other,
        redirect_uri=R1,
        scopes=["cway", "extra"],
        now=served.clock.now(),
        lifetime=timedelta(days=90),
    )
    assert (await served.authorize(other, R1, ALICE))[0]
    remembered = {"subject": account_key(ALICE), "client_id": other, "redirect_uri": R1, "now": served.clock.now()}
    assert await consents.remembered(scopes=["cway"], **remembered)  # type: ignore[arg-type]
    assert not await consents.remembered(scopes=["cway", "other"], **remembered)  # type: ignore[arg-type]

    served.clock.advance(days=89)
    assert not (await served.authorize(client, R1, ALICE))[0]  # still inside the 90 days
    served.clock.advance(days=2)
    assert (await served.authorize(client, R1, ALICE))[0]  # expired: asked again (and remembered anew)
    assert not (await served.authorize(client, R1, ALICE))[0]


async def test_an_admin_revocation_asks_again(served: Served) -> None:
    client = await served.register(R1)
    assert (await served.authorize(client, R1, ALICE))[0]
    assert not (await served.authorize(client, R1, ALICE))[0]
    removed = await served.admin.revoke_user(account_key(ALICE))
    assert removed.consents == 1 and removed.cway_record
    assert (await served.authorize(client, R1, ALICE))[0]  # the user revoked: asked again

    removed = await served.admin.revoke_client(client)
    assert removed.consents == 1 and removed.registration
    again = await served.register(R1)  # the client must register again, and is asked again
    assert (await served.authorize(again, R1, ALICE))[0]


@pytest.mark.parametrize("served", [{"days": 0}], indirect=True)
async def test_consent_days_0_asks_every_time(served: Served) -> None:
    client = await served.register(R1)
    assert (await served.authorize(client, R1, ALICE))[0]
    assert (await served.authorize(client, R1, ALICE))[0]


async def test_a_denial_stores_nothing_and_the_callback_belongs_to_the_browser_that_started(served: Served) -> None:
    client = await served.register(R1)
    with pytest.raises(AssertionError, match="access_denied"):
        await OAuthBrowser(BOB, approve=False).sign_in(served.authorize_url(client, R1, "c" * 43))
    assert await served.runtime.store.load(BOB) is None  # Bob's new Cway tokens were never stored
    assert await served.runtime.oauth.client(client) is not None

    async with httpx.AsyncClient() as victim, httpx.AsyncClient() as attacker:
        consent = (await attacker.get(served.authorize_url(client, R1, "c" * 43))).headers["location"]
        entra = (await attacker.get(consent)).headers["location"]
        callback = await browser_sign_in_async(entra, ALICE)  # someone else completes the attacker's sign-in
        refused = await victim.get(callback)  # without the cookie of the browser that started it
        assert refused.status_code == 403
        assert await served.runtime.store.load(ALICE) is None


@pytest.mark.parametrize("served", [{"https": True}], indirect=True)
async def test_on_https_the_browser_binding_is_a_host_only_secure_cookie(served: Served) -> None:
    """``__Host-``: Secure, Path=/, no Domain, so a sibling subdomain cannot plant this browser's value."""
    client = await served.register(R1)
    async with httpx.AsyncClient() as http:
        consent = (await http.get(served.authorize_url(client, R1, "c" * 43))).headers["location"]
        answer = await http.get(consent.replace("https://", "http://"))  # TLS is the load balancer's
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("__Host-cway_mcp_consent=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie and "Domain" not in cookie
