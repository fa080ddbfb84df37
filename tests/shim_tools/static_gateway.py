"""A minimal :class:`~cway_tools.gateway_protocol.CwayGateway` for the tool tests.

Static bearer per username against the emulator, no daemon: the tools are tested on their own,
independent of the runtime's daemon gateway. It also records every call so tests can assert
that the tools send only registered documents and never reach Cway with invalid input.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from mcp.server.mcpserver.exceptions import ToolError

from cway_contract.config import derive_ws_url
from cway_tools import subscriptions
from cway_tools.bearer import StaticBearer
from cway_tools.documents import Document


@dataclass
class Call:
    name: str | None
    document: Document | None
    variables: dict[str, Any]
    username: str


@dataclass
class StaticTokenGateway:
    """Sends each call with the static token of ``username`` (or of ``default_username``)."""

    api_url: str
    tokens: dict[str, str]
    default_username: str
    calls: list[Call] = field(default_factory=list)

    async def execute(
        self, document: Document, variables: Mapping[str, Any] | None = None, *, username: str | None = None
    ) -> dict[str, Any]:
        return await self._post(document.text, variables, document.name, username, document)

    def subscribe(
        self,
        document: Document,
        variables: Mapping[str, Any] | None = None,
        *,
        username: str | None = None,
        on_subscribed: Callable[[], None] | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """The shim's real subscription client, with this user's static token as the bearer."""
        who = username or self.default_username
        self.calls.append(Call(document.name, document, dict(variables or {}), who))
        token = self.tokens.get(who)
        if token is None:
            raise ToolError(f"No Cway account {who!r} is signed in.")
        return subscriptions.subscribe(
            derive_ws_url(self.api_url), document.text, variables, document.name, StaticBearer(token, who),
            open_timeout=10, user_agent="cway-mcp-tests", on_subscribed=on_subscribed,
        )  # fmt: skip

    async def fetch_file(self, url: str, *, username: str | None = None, max_bytes: int) -> tuple[bytes, str]:
        """GET a Cway file URL with the user's static token (the emulator checks it)."""
        who = username or self.default_username
        self.calls.append(Call("fetch_file", None, {"url": url}, who))
        token = self.tokens.get(who)
        if token is None:
            raise ToolError(f"No Cway account {who!r} is signed in.")
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.get(url, headers={"Authorization": f"Bearer {token}"})
        if response.status_code != 200:
            raise ToolError(f"Cway answered HTTP {response.status_code}.")
        if len(response.content) > max_bytes:
            raise ToolError(f"The file is larger than {max_bytes} bytes; it is not inlined.")
        return response.content, response.headers.get("content-type", "").split(";")[0]

    async def execute_text(
        self,
        text: str,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
        *,
        username: str | None,
    ) -> dict[str, Any]:
        return await self._post(text, variables, operation_name, username, None)

    async def _post(
        self,
        text: str,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
        username: str | None,
        document: Document | None,
    ) -> dict[str, Any]:
        who = username or self.default_username
        self.calls.append(Call(operation_name, document, dict(variables or {}), who))
        token = self.tokens.get(who)
        if token is None:
            raise ToolError(f"No Cway account {who!r} is signed in.")
        body: dict[str, Any] = {"query": text, "variables": dict(variables or {})}
        if operation_name:
            body["operationName"] = operation_name
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(self.api_url, json=body, headers={"Authorization": f"Bearer {token}"})
        payload = response.json() if response.headers.get("content-type", "").startswith("application/json") else None
        if isinstance(payload, dict) and payload.get("errors"):
            raise ToolError("Cway reported an error: " + "; ".join(str(e.get("message")) for e in payload["errors"]))
        if response.status_code != 200 or not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
            raise ToolError(f"Cway answered HTTP {response.status_code}.")
        return payload["data"]
