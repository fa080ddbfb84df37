"""Fixtures for the emulator's own tests: a fresh emulator per test on a manual clock.

``Flow`` bundles the client side of the sign-in dance (PKCE, authorize URL, code exchange)
so each test states only what it varies.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from cway_contract.clock import ManualClock
from cway_emulator import EmulatorServer
from cway_emulator.fixtures import ALICE
from cway_emulator.idp_core import s256
from cway_emulator.jwt_keys import tls_context
from tests.helpers.daemon import free_port

SCOPE = "openid profile email User.Read offline_access"


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


class Flow:
    def __init__(self, emu: EmulatorServer, http: httpx.Client, redirect_uri: str) -> None:
        self.emu, self.http, self.redirect_uri = emu, http, redirect_uri
        self.verifier = "v" * 20 + "-verifier-for-tests-" + "x" * 20

    def authorize_url(self, **overrides: Any) -> str:
        params: dict[str, Any] = {
            "client_id": self.emu.client_id,
            "response_type": "code",
            "redirect_uri": self.redirect_uri,
            "response_mode": "query",
            "scope": SCOPE,
            "state": "state-123",
            "nonce": "nonce-456",
            "code_challenge": s256(self.verifier),
            "code_challenge_method": "S256",
            "prompt": "select_account",
            "login_hint": ALICE,
        }
        params.update(overrides)
        return self.emu.authorize_url + "?" + urlencode({k: v for k, v in params.items() if v is not None})

    def code(self, **overrides: Any) -> str:
        location = self.emu.browser_sign_in(self.authorize_url(**overrides))
        query = query_of(location)
        assert "code" in query, query
        return query["code"]

    def idp_token(self, **form: Any) -> httpx.Response:
        data = {k: v for k, v in form.items() if v is not None}
        return self.http.post(self.emu.idp_token_url, data=data)

    def redeem(self, code: str, **overrides: Any) -> httpx.Response:
        form: dict[str, Any] = {
            "grant_type": "authorization_code",
            "client_id": self.emu.client_id,
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": self.verifier,
        }
        form.update(overrides)
        return self.idp_token(**form)

    def cway_exchange(self, code: str, **overrides: Any) -> httpx.Response:
        form: dict[str, Any] = {
            "grant_type": "azure",
            "token": code,
            "state": "state-123",
            "client_id": self.emu.client_id,
            "code_verifier": self.verifier,
            "redirect_uri": self.redirect_uri,
        }
        form.update(overrides)
        return self.http.post(self.emu.cway_token_url, data={k: v for k, v in form.items() if v is not None})

    def cway_login(self, user: str = ALICE) -> dict[str, Any]:
        resp = self.cway_exchange(self.code(login_hint=user))
        assert resp.status_code == 200, resp.text
        tokens: dict[str, Any] = resp.json()
        return tokens

    def cway_refresh(self, refresh_token: str) -> httpx.Response:
        return self.http.post(
            self.emu.cway_token_url, data={"grant_type": "refresh_token", "refresh_token": refresh_token}
        )

    def gql(self, token: str | None, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return self.http.post(self.emu.cway_api_url, json=body, headers=headers)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def redirect_uri() -> str:
    return f"http://127.0.0.1:{free_port()}/callback"


@pytest.fixture
def emu(clock: ManualClock, redirect_uri: str) -> Iterator[EmulatorServer]:
    with EmulatorServer(clock=clock, auto_approve=True, redirect_uris=[redirect_uri]) as server:
        yield server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=10, follow_redirects=False, verify=tls_context()) as client:
        yield client


@pytest.fixture
def flow(emu: EmulatorServer, http: httpx.Client, redirect_uri: str) -> Flow:
    return Flow(emu, http, redirect_uri)
