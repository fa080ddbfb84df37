"""Run ``cway-mcp serve`` replicas for a test, and sign in to them with the mcp SDK's OAuth client.

:func:`start_replica` spawns ``python -m cway_mcp_shim serve`` (the real entry point) on a free
loopback port and waits for ``/healthz``; :meth:`Replica.stop` sends SIGTERM, :meth:`Replica.kill`
SIGKILL. :class:`OAuthBrowser` plays the user's browser through the whole authorization: our
``/authorize`` → the emulated Entra sign-in form → our callback → the consent page (approve, unless
the consent is remembered) → the client's redirect URI, whose code the SDK's ``callback_handler``
receives.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import httpx2
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from cway_emulator.browser import browser_sign_in_async
from tests.helpers.daemon import free_port, process_env

REDIRECT_URI = "http://127.0.0.1:1/oauth-client/callback"  # never contacted: the "browser" reads the code


@dataclass
class Replica:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


def remote_env(
    base: Path, emu_env: Mapping[str, str], *, public_url: str, database_url: str, key: str
) -> dict[str, str]:
    (base / "home").mkdir(parents=True, exist_ok=True)
    config = base / "config.toml"
    config.touch()
    env = dict(emu_env)
    env.update(
        {
            "HOME": str(base / "home"),
            "CWAY_MCP_CONFIG": str(config),
            "CWAY_MCP_STATE_DIR": str(base / "state"),
            "CWAY_MCP_STORE_KEY": key,
            "CWAY_MCP_PUBLIC_URL": public_url,
            "CWAY_MCP_DATABASE_URL": database_url,
            "CWAY_MCP_LOG_LEVEL": "INFO",
            "AUTH_METHOD": "oauth2",
            "CWAY_TOOLSETS": "all",  # every tool; tests/remote/test_remote_toolsets.py checks the others
        }
    )
    return env


def start_replica(
    env: Mapping[str, str],
    port: int | None = None,
    *,
    refresh_interval: float = 3600.0,
    command: Sequence[str] | None = None,
) -> Replica:
    """``command`` replaces ``python -m cway_mcp_shim`` (e.g. an installed ``cway-mcp``, run as another user)."""
    port = port or free_port()
    base = Path(env["HOME"]).parent
    log_path = base / f"replica-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                *(command or (sys.executable, "-m", "cway_mcp_shim")),
                "serve",
                "--port",
                str(port),
                "--refresh-interval",
                str(refresh_interval),
            ],
            env=process_env(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=base,
        )
    replica = Replica(port, process, log_path)
    deadline = time.monotonic() + 90  # generous: a loaded 2-core CI machine, not a speed claim
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"replica exited with {process.returncode}:\n{replica.log_text()}")
        try:
            if httpx.get(f"{replica.url}/readyz", timeout=1).status_code == 200:
                return replica
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    replica.kill()
    raise TimeoutError(f"replica on {port} not ready:\n{replica.log_text()}")


class MemoryTokenStorage:
    """The SDK client's ``TokenStorage`` in memory (what a desktop client keeps in its keychain)."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


@dataclass
class OAuthBrowser:
    """The user's browser for one sign-in as ``username`` (the emulated Entra form picks the user)."""

    username: str
    approve: bool = True
    visited: list[str] = field(default_factory=list)
    #: Where the server finally sent the browser (the client's redirect URI with its query).
    last_redirect: str | None = None
    _result: asyncio.Future[AuthorizationCodeResult] | None = None

    async def redirect_handler(self, authorization_url: str) -> None:
        self._result = asyncio.get_running_loop().create_future()
        result = await self.sign_in(authorization_url)
        self._result.set_result(result)

    async def callback_handler(self) -> AuthorizationCodeResult:
        assert self._result is not None
        return await self._result

    async def sign_in(self, authorization_url: str) -> AuthorizationCodeResult:
        """/authorize → /consent (binds this browser) → Entra → our callback → the consent page
        (approve or deny; skipped when the user's consent is remembered) → the client's redirect."""
        async with httpx.AsyncClient(follow_redirects=False, timeout=15) as http:
            consent_url = await self._expect_redirect(http, authorization_url)
            entra = await self._expect_redirect(http, consent_url)
            callback = await browser_sign_in_async(entra, self.username)
            location = await self._expect_redirect(http, callback)
            if urlsplit(location).path == "/consent":
                page = await http.get(location)
                self.visited.append(str(page.url.copy_with(query=None)))
                if page.status_code != 200:
                    raise AssertionError(f"consent page answered {page.status_code}: {page.text[:300]}")
                fields = dict(re.findall(r"name='(request|csrf)' value='([^']*)'", page.text))
                decision = "approve" if self.approve else "deny"
                answer = await http.post(urljoin(location, "consent"), data={**fields, "decision": decision})
                if not answer.is_redirect:
                    raise AssertionError(f"consent answered {answer.status_code}: {answer.text[:300]}")
                location = answer.headers["location"]
        self.last_redirect = location
        query = parse_qs(urlsplit(location).query)
        if "error" in query:
            raise AssertionError(f"authorization failed: {query}")
        first = {k: v[0] for k, v in query.items()}
        return AuthorizationCodeResult(code=first["code"], state=first.get("state"), iss=first.get("iss"))

    @property
    def consent_shown(self) -> bool:
        return any(urlsplit(url).path == "/consent" for url in self.visited)

    async def _expect_redirect(self, http: httpx.AsyncClient, url: str) -> str:
        response = await http.get(url)
        if not response.is_redirect:
            raise AssertionError(f"{url.split('?')[0]} answered {response.status_code}: {response.text[:300]}")
        return urljoin(url, response.headers["location"])


def oauth_client(server_url: str, browser: OAuthBrowser, storage: MemoryTokenStorage) -> OAuthClientProvider:
    metadata = OAuthClientMetadata(
        client_name=f"test client for {browser.username}",
        redirect_uris=[REDIRECT_URI],  # type: ignore[list-item]
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
    )
    return OAuthClientProvider(
        server_url,
        metadata,
        storage,
        redirect_handler=browser.redirect_handler,
        callback_handler=browser.callback_handler,
    )


async def sign_in_by_document(replica: Replica, username: str, metadata_url: str) -> MemoryTokenStorage:
    """Sign ``username`` in with the SDK's OAuth client identified by a Client ID Metadata Document
    (no registration), check ``whoami`` answers as them, and return the tokens it holds."""
    url = replica.url + "/mcp"
    browser, storage = OAuthBrowser(username), MemoryTokenStorage()
    provider = OAuthClientProvider(
        url,
        OAuthClientMetadata(redirect_uris=[REDIRECT_URI], token_endpoint_auth_method="none"),  # type: ignore[list-item]
        storage,
        redirect_handler=browser.redirect_handler,
        callback_handler=browser.callback_handler,
        client_metadata_url=metadata_url,
    )
    async with McpSession(url, provider) as session:
        me = await session.call_tool("whoami", {})
        assert me.structured_content is not None and me.structured_content["username"] == username
    assert storage.client_info is not None and storage.client_info.client_id == metadata_url
    return storage


async def post_tool_call(
    http: httpx.AsyncClient, url: str, token: str, name: str, arguments: Mapping[str, object]
) -> httpx.Response:
    """One ``tools/call`` as a bare stateless JSON-RPC POST (no session), with a bearer."""
    return await http.post(
        url,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"},
    )


class McpSession:
    """An MCP ``ClientSession`` over Streamable HTTP with an ``httpx2.Auth`` (OAuth or a fixed bearer)."""

    def __init__(self, url: str, auth: httpx2.Auth | None = None, headers: Mapping[str, str] | None = None) -> None:
        self._url = url
        self._auth = auth
        self._headers = dict(headers or {})

    async def __aenter__(self) -> ClientSession:
        from contextlib import AsyncExitStack

        self._exit = AsyncExitStack()
        http = await self._exit.enter_async_context(
            httpx2.AsyncClient(auth=self._auth, headers=self._headers, timeout=httpx2.Timeout(30, read=60))
        )
        read, write = await self._exit.enter_async_context(streamable_http_client(self._url, http_client=http))
        session = await self._exit.enter_async_context(ClientSession(read, write))
        await session.initialize()
        return session

    async def __aexit__(self, *exc: object) -> None:
        await self._exit.aclose()
