"""Sign-in answered in each client's own MCP revision, through the SDK's client over stdio against
the real shim, the real daemon and the emulator.

* 2026-07-28 (``mcp.Client``'s default): an input-required result with a URL-mode elicitation;
  the client shows the URL, the person signs in, the client retries and the tool runs.
* 2025-11-25 (``mode="legacy"``): JSON-RPC error -32042, then ``notifications/elicitation/complete``
  once the sign-in finishes.
* Both: log notifications for "sign-in needed" and "signed in", never with a token or the URL.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.context import ClientRequestContext
from mcp.client.session import ElicitationFnT
from mcp.shared.exceptions import MCPError
from mcp.types import (
    ElicitRequestParams,
    ElicitRequestURLParams,
    ElicitResult,
    LoggingMessageNotificationParams,
    TextContent,
)
from mcp_types import URL_ELICITATION_REQUIRED

from cway_emulator.server import EmulatorServer
from tests.helpers.daemon import RunningDaemon
from tests.shim.harness import CALL_TIMEOUT_SECONDS, secrets_in, shim_params

pytestmark = pytest.mark.slow

ALICE = "alice@contoso.example"


class Recorder:
    """What the client received besides results: elicitations, log messages, other notifications."""

    def __init__(self) -> None:
        self.elicitations: list[ElicitRequestParams] = []
        self.logs: list[LoggingMessageNotificationParams] = []
        self.notifications: list[Any] = []
        self.completed = asyncio.Event()

    async def on_log(self, params: LoggingMessageNotificationParams) -> None:
        self.logs.append(params)

    async def on_message(self, message: Any) -> None:
        self.notifications.append(message)
        if getattr(message, "method", None) == "notifications/elicitation/complete":
            self.completed.set()

    def events(self) -> list[str]:
        return [p.data["event"] for p in self.logs if isinstance(p.data, dict)]


def teed(params: StdioServerParameters, wire: Path) -> StdioServerParameters:
    """The same shim, with every byte it writes to the client also copied to ``wire`` (``tee``): the
    JSON exactly as serialised, not the client's parsed objects."""
    script = '"$0" "$@" | tee "$WIRE_FILE"'
    env = {**(params.env or {}), "WIRE_FILE": str(wire)}
    return params.model_copy(
        update={"command": "/bin/sh", "args": ["-c", script, params.command, *params.args], "env": env}
    )


@asynccontextmanager
async def client(
    env: dict[str, str], mode: str, elicit: ElicitationFnT | None, rec: Recorder, wire: Path | None = None
) -> AsyncIterator[Client]:
    log_path = Path(env["CWAY_TEST_BASE"]) / "shim.log"
    params = shim_params({**env, "CWAY_USERNAME": ALICE})
    async with Client(
        teed(params, wire) if wire else params,
        mode=mode,
        elicitation_callback=elicit,
        logging_callback=rec.on_log,
        message_handler=rec.on_message,
        log_level="info",
        read_timeout_seconds=CALL_TIMEOUT_SECONDS,
    ) as c:
        yield c
    assert log_path  # the shim's stderr is the SDK default here; nothing to clean up


async def browser_sign_in(emu: EmulatorServer, url: str) -> None:
    """What the person does with the URL: sign in, and the browser follows the redirect home."""
    location = await asyncio.to_thread(emu.browser_sign_in, url, ALICE)
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        page = await http.get(location)
    assert page.status_code == 200, page.text


async def test_2026_input_required_sign_in_then_the_tool_runs(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon
) -> None:
    """The client answers "accept" as soon as it has shown the URL; the retry waits for the sign-in
    (reporting progress), and the person signs in while it waits."""
    rec = Recorder()
    signed_in: list[asyncio.Task[None]] = []

    async def elicit(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        rec.elicitations.append(params)
        return ElicitResult(action="accept")

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        rec.notifications.append(("progress", progress, total, message))
        if not signed_in:  # the shim is waiting for the sign-in: now the person signs in
            (asked,) = rec.elicitations
            assert isinstance(asked, ElicitRequestURLParams)
            signed_in.append(asyncio.create_task(browser_sign_in(emu, asked.url)))

    wire = Path(env["CWAY_TEST_BASE"]) / "wire.jsonl"
    async with client(env, "auto", elicit, rec, wire) as c:
        assert c.protocol_version == "2026-07-28"
        assert c.server_capabilities.logging is not None  # declared
        call = c.call_tool("list_projects", {}, progress_callback=progress)
        result = await asyncio.wait_for(call, CALL_TIMEOUT_SECONDS)
    await signed_in[0]
    assert not result.is_error, result.content
    assert result.structured_content is not None and result.structured_content["total"] >= 1
    (asked,) = rec.elicitations  # asked once, answered once, then the call went through
    assert isinstance(asked, ElicitRequestURLParams) and "/sign-in/" in asked.url and "alice" not in asked.url
    assert "Cway sign-in needed for alice@contoso.example" in asked.message
    # On the wire: the input-required result's URL elicitation has no elicitationId (removed at 2026-07-28).
    asks = [m for m in map(json.loads, wire.read_text().splitlines()) if "inputRequests" in m.get("result", {})]
    (ask,) = asks
    (question,) = ask["result"]["inputRequests"].values()
    assert question["params"]["mode"] == "url" and question["params"]["url"] == asked.url
    assert "elicitationId" not in question["params"] and "elicitationId" not in json.dumps(ask)
    waiting = [n for n in rec.notifications if isinstance(n, tuple)]
    assert waiting and waiting[0][3] == "Waiting for the Cway sign-in"
    assert rec.events() == ["sign_in_needed", "signed_in"]
    assert not any(asked.url in str(p.data) for p in rec.logs)  # the sign-in URL is not logged
    assert not secrets_in(" ".join(str(p.data) for p in rec.logs), list(emu.emulator.cway.refresh))


async def test_2026_declined_sign_in_is_a_text_answer_and_not_asked_again(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon
) -> None:
    rec = Recorder()

    async def decline(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        rec.elicitations.append(params)
        return ElicitResult(action="decline")

    async with client(env, "auto", decline, rec) as c:
        result = await asyncio.wait_for(c.call_tool("list_projects", {}), CALL_TIMEOUT_SECONDS)
    assert result.is_error
    text = "\n".join(b.text for b in result.content if isinstance(b, TextContent))
    assert "Cway sign-in needed for alice@contoso.example" in text and "/sign-in/" in text
    assert len(rec.elicitations) == 1


async def test_2026_client_without_elicitation_gets_the_text(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon
) -> None:
    rec = Recorder()
    async with client(env, "auto", None, rec) as c:
        result = await asyncio.wait_for(c.call_tool("list_projects", {}), CALL_TIMEOUT_SECONDS)
    assert result.is_error
    assert "/sign-in/" in "\n".join(b.text for b in result.content if isinstance(b, TextContent))


async def test_2025_url_error_then_elicitation_complete(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon
) -> None:
    rec = Recorder()

    async def never(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        raise AssertionError("a 2025-11-25 client is told with -32042, not asked")

    async with client(env, "legacy", never, rec) as c:
        assert c.protocol_version == "2025-11-25"
        assert c.server_capabilities.logging is not None
        with pytest.raises(MCPError) as raised:
            await asyncio.wait_for(c.call_tool("list_projects", {}), CALL_TIMEOUT_SECONDS)
        assert raised.value.code == URL_ELICITATION_REQUIRED
        (elicitation,) = raised.value.data["elicitations"]
        await browser_sign_in(emu, elicitation["url"])
        await asyncio.wait_for(rec.completed.wait(), CALL_TIMEOUT_SECONDS)
        (done,) = [n for n in rec.notifications if getattr(n, "method", None) == "notifications/elicitation/complete"]
        assert done.params.elicitation_id == elicitation["elicitationId"]
        result = await asyncio.wait_for(c.call_tool("list_projects", {}), CALL_TIMEOUT_SECONDS)
    assert not result.is_error
    assert rec.events() == ["sign_in_needed", "signed_in"]
