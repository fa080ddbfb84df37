"""The tool tests' gateway: production's :class:`~cway_tools.gateway.CwayHttpGateway`, one static
bearer per test user, against the emulator.

Everything a tool sends goes through the real gateway (its one httpx client, the bearer rule, its
error wording, the WebSocket client for subscriptions); this subclass changes only whose token a
call carries, the way ``cway-mcp serve``'s gateway does (:meth:`bearer_for`), and records each call
so tests can assert that the tools send only registered documents and never reach Cway with
invalid input. A user with no token here sends one Cway never issued, so Cway refuses it as it
refuses any unknown token.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cway_contract.config import load_settings
from cway_tools.bearer import Bearer, StaticBearer
from cway_tools.documents import Document
from cway_tools.gateway import CwayHttpGateway

#: What a user without a token of their own sends (Cway never issued it).
UNISSUED_TOKEN = "cway-static-never-issued"


@dataclass
class Call:
    name: str | None
    document: Document | None
    variables: dict[str, Any]
    username: str


class StaticTokenGateway(CwayHttpGateway):
    """Sends each call with the static token of ``username`` (or of ``default_username``)."""

    needs_bearer_source = False  # bearer_for below is the source (as cway-mcp serve's gateway does)

    def __init__(self, api_url: str, tokens: dict[str, str], default_username: str, *, home: Path) -> None:
        # Per-user mode (each call as its user, as with the daemon), the bearers from this class.
        env = {"AUTH_METHOD": "oauth2", "CWAY_API_URL": api_url, "HOME": str(home)}
        super().__init__(load_settings(env, component="shim", cwd=home), None)
        self.tokens = tokens
        self.default_username = default_username
        self.calls: list[Call] = []

    def bearer_for(self, username: str | None) -> Bearer:
        who = username or self.default_username
        return StaticBearer(self.tokens.get(who, UNISSUED_TOKEN), who)

    async def execute(
        self, document: Document, variables: Mapping[str, Any] | None = None, *, username: str | None = None
    ) -> dict[str, Any]:
        self._record(document.name, document, variables, username)
        return await super().execute(document, variables, username=username)

    async def execute_text(
        self,
        text: str,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
        *,
        username: str | None = None,
    ) -> dict[str, Any]:
        self._record(operation_name, None, variables, username)
        return await super().execute_text(text, variables, operation_name, username=username)

    async def fetch_file(self, url: str, *, username: str | None = None, max_bytes: int) -> tuple[bytes, str]:
        self._record("fetch_file", None, {"url": url}, username)
        return await super().fetch_file(url, username=username, max_bytes=max_bytes)

    def subscribe(
        self,
        document: Document,
        variables: Mapping[str, Any] | None = None,
        *,
        username: str | None = None,
        on_subscribed: Callable[[], None] | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        self._record(document.name, document, variables, username)
        return super().subscribe(document, variables, username=username, on_subscribed=on_subscribed)

    def _record(
        self, name: str | None, document: Document | None, variables: Mapping[str, Any] | None, username: str | None
    ) -> None:
        self.calls.append(Call(name, document, dict(variables or {}), username or self.default_username))
