"""``EmulatorServer``: both emulated services on free loopback ports, in a background thread.

Sockets are bound before the apps are built, so every URL (issuer, token endpoint) carries
the real port. Both uvicorn servers share one event loop in one thread; stopping the server
cancels whatever is still running there (e.g. a request parked by the ``hang`` failure
mode), closes the loop and joins the thread, so nothing leaks between tests.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import uvicorn

from cway_contract import SYSTEM_CLOCK, Clock
from cway_emulator.browser import browser_sign_in, resolve_sign_in_link
from cway_emulator.cway_backend import create_cway_app
from cway_emulator.emulator import (
    CWAY_API_SCOPE,
    CWAY_CLIENT_ID,
    DEFAULT_CLIENT_ID,
    DEFAULT_REDIRECT_URI,
    DEFAULT_TENANT,
    Emulator,
)
from cway_emulator.fixtures import DEFAULT_USER
from cway_emulator.graphql_api import cway_schema
from cway_emulator.idp import create_idp_app
from cway_emulator.jwt_keys import idp_signing_key
from cway_emulator.knobs import Knobs


class _NoWireDebug(logging.Filter):
    """Drop uvicorn's DEBUG records: its WebSocket implementation hands the ``websockets`` protocol
    the ``uvicorn.error`` logger, which at DEBUG prints the upgrade's headers (``Authorization:
    Bearer ...``) and every frame (the ``connection_init`` payload carries the bearer too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


_NO_WIRE_DEBUG = _NoWireDebug()


def _bind(host: str, port: int) -> socket.socket:
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP,
    # and without it every keep-alive response stalls ~40 ms on Nagle + delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.setblocking(False)
    return sock


class EmulatorServer:
    """Emulated Entra ID + Cway backend. Use as ``with EmulatorServer(auto_approve=True) as emu:``."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        auto_approve: bool = False,
        idp_port: int = 0,
        cway_port: int = 0,
        host: str = "127.0.0.1",
        tenant: str = DEFAULT_TENANT,
        client_id: str = DEFAULT_CLIENT_ID,
        redirect_uris: Sequence[str] = (DEFAULT_REDIRECT_URI,),
        knobs: Knobs | None = None,
        startup_timeout: float = 10.0,
    ) -> None:
        self._host, self._ports = host, (idp_port, cway_port)
        self._clock = clock or SYSTEM_CLOCK
        self._tenant, self._client_id, self._redirect_uris = tenant, client_id, tuple(redirect_uris)
        self._knobs = knobs or Knobs()
        if auto_approve:
            self._knobs.auto_approve = True
        self._startup_timeout = startup_timeout
        self._emu: Emulator | None = None
        self._servers: list[uvicorn.Server] = []
        self._sockets: list[socket.socket] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failure: BaseException | None = None

    # --- lifecycle ----------------------------------------------------------------------
    def start(self) -> EmulatorServer:
        if self._thread is not None:
            raise RuntimeError("EmulatorServer already started")
        idp_signing_key()  # cached per process: the first start pays ~0.2 s, later ones nothing
        logging.getLogger("uvicorn.error").addFilter(_NO_WIRE_DEBUG)  # once: filters are a set-like list
        cway_schema()
        self._sockets = [_bind(self._host, p) for p in self._ports]
        idp_port, cway_port = (s.getsockname()[1] for s in self._sockets)
        self._emu = Emulator(
            idp_url=f"http://{self._host}:{idp_port}",
            cway_base_url=f"http://{self._host}:{cway_port}",
            tenant=self._tenant,
            client_id=self._client_id,
            redirect_uris=self._redirect_uris,
            clock=self._clock,
            knobs=self._knobs,
        )
        apps = (create_idp_app(self._emu), create_cway_app(self._emu))
        # Only the Cway app speaks WebSocket (GraphQL subscriptions); the sans-I/O implementation
        # is the one uvicorn maintains against current websockets releases.
        self._servers = [
            uvicorn.Server(
                uvicorn.Config(
                    app,
                    log_config=None,
                    access_log=False,
                    lifespan="off",
                    ws=ws,
                    timeout_graceful_shutdown=1,
                    timeout_keep_alive=2,
                )
            )
            for app, ws in zip(apps, ("none", "websockets-sansio"), strict=True)
        ]
        self._thread = threading.Thread(target=self._run, name="cway-emulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not all(s.started for s in self._servers):
            if self._failure is not None or not self._thread.is_alive():
                self.stop()
                raise RuntimeError(f"emulator failed to start: {self._failure!r}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("emulator did not start in time")
            time.sleep(0.005)
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # surfaced to start()
            self._failure = exc
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            asyncio.set_event_loop(None)
            loop.close()

    async def _serve(self) -> None:
        await asyncio.gather(
            *(srv.serve(sockets=[sock]) for srv, sock in zip(self._servers, self._sockets, strict=True))
        )

    def stop(self) -> None:
        for srv in self._servers:
            srv.should_exit = True
            srv.force_exit = True  # do not wait for idle keep-alive connections
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None
        for sock in self._sockets:
            sock.close()
        self._sockets = []

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> EmulatorServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)

    # --- accessors ------------------------------------------------------------------------
    @property
    def emulator(self) -> Emulator:
        if self._emu is None:
            raise RuntimeError("EmulatorServer not started")
        return self._emu

    @property
    def idp_url(self) -> str:
        return self.emulator.idp_url

    @property
    def tenant(self) -> str:
        return self._tenant

    @property
    def authority(self) -> str:
        """The issuer, ``{idp_url}/{tenant}/v2.0`` (discovery lives under it)."""
        return self.emulator.issuer

    @property
    def authorize_url(self) -> str:
        return f"{self.idp_url}/{self._tenant}/oauth2/v2.0/authorize"

    @property
    def idp_token_url(self) -> str:
        return self.emulator.idp_token_url

    @property
    def cway_base_url(self) -> str:
        return self.emulator.cway_base_url

    @property
    def cway_api_url(self) -> str:
        return f"{self.cway_base_url}/graphql"

    @property
    def cway_token_url(self) -> str:
        return f"{self.cway_base_url}/oauth/token"

    @property
    def client_id(self) -> str:
        return self._client_id

    @property
    def cway_app_id(self) -> str:
        """The client id of the emulated Cway app: the ``aud`` of IdP tokens issued for its API."""
        return CWAY_CLIENT_ID

    @property
    def cway_api_scope(self) -> str:
        """The delegated scope of the Cway API (``AUTH_FLOW=direct`` asks for it)."""
        return CWAY_API_SCOPE

    @property
    def knobs(self) -> Knobs:
        return self._knobs

    @property
    def counters(self) -> dict[str, int]:
        """A snapshot (a fresh dict each time) of every call counter."""
        return self.emulator.counters.snapshot()

    @property
    def clock(self) -> Clock:
        return self._clock

    # --- helpers -------------------------------------------------------------------------
    def reset(self) -> None:
        self.emulator.reset()

    def reset_data(self) -> None:
        """Projects, artworks, media and shares back to the seed; sign-ins and tokens stay valid."""
        self.emulator.store.reset(keep_grants=True)

    def register_redirect_uri(self, uri: str) -> None:
        self.emulator.register_redirect_uri(uri)

    def issue_static_token(self, username: str, organisation: str | None = None) -> str:
        return self.emulator.issue_static_token(username, organisation)

    def revoke_user(self, username: str) -> None:
        self.emulator.revoke_user(username)

    def env(self) -> dict[str, str]:
        """The cway-mcp environment variables that point the daemon and shim at this emulator."""
        return {
            "AZURE_AUTHORITY": self.authority,
            "AZURE_CLIENT_ID": self._client_id,
            "AZURE_TENANT_ID": self._tenant,
            "CWAY_API_URL": self.cway_api_url,
            "CWAY_TOKEN_URL": self.cway_token_url,
        }

    def browser_sign_in(self, authorization_url: str, username: str | None = None, *, approve: bool = True) -> str:
        """Drive the sign-in page over HTTP; returns the redirect Location (not followed)."""
        if self._knobs.auto_approve and username is not None:
            authorization_url = resolve_sign_in_link(authorization_url)
            hint: Any = parse_qs(urlsplit(authorization_url).query).get("login_hint", [None])[0]
            if (hint or DEFAULT_USER).lower() != username.lower():
                raise ValueError("auto_approve signs in the login_hint user; turn it off to choose another user")
        return browser_sign_in(authorization_url, username, approve=approve)
