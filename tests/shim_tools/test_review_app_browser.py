"""The review app in a real browser, driven the way an MCP Apps host drives it.

Headless Chromium loads a small host page (``data/app_host.html``) that embeds the ``ui://``
document from ``resources/read`` in a sandboxed iframe and speaks the ext-apps ``postMessage``
protocol with it; the app's ``tools/call`` requests are relayed to a real MCP client session of the
Cway tools against the emulator. A person's click on Approve must become exactly one
``approve_artwork`` call, exactly one decision at Cway, and an updated view. Screenshots are kept
under ``tests/.artifacts/`` (git-ignored) and their paths printed.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from mcp.types import TextResourceContents

from cway_emulator import EmulatorServer
from cway_tools.review_app import RESOURCE_URI
from tests.helpers.cdp import CHROMIUM, Page, chromium_page
from tests.shim_tools.conftest import artwork_id, connected
from tests.shim_tools.static_gateway import StaticTokenGateway

pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium")]

HOST = Path(__file__).parent / "data" / "app_host.html"
ARTIFACTS = Path(__file__).resolve().parents[1] / ".artifacts"


def app_html(page: Page) -> str:
    """The iframe's live document (the sandboxed frame stays in-process, so DOM.pierce reaches it)."""
    root = page.send("DOM.getDocument", depth=-1, pierce=True)["root"]
    frame = page.send("DOM.querySelector", nodeId=root["nodeId"], selector="iframe")["nodeId"]
    described = page.send("DOM.describeNode", nodeId=frame, depth=-1, pierce=True)["node"]
    document = described["contentDocument"]["backendNodeId"]
    outer: str = page.send("DOM.getOuterHTML", backendNodeId=document)["outerHTML"]
    return outer


def click_in_app(page: Page, selector: str) -> None:
    """A real mouse click on an element inside the app's iframe."""
    root = page.send("DOM.getDocument", depth=-1, pierce=True)["root"]
    frame = page.send("DOM.querySelector", nodeId=root["nodeId"], selector="iframe")["nodeId"]
    frame_doc = page.send("DOM.describeNode", nodeId=frame, depth=1, pierce=True)["node"]["contentDocument"]
    (doc_node,) = page.send("DOM.pushNodesByBackendIdsToFrontend", backendNodeIds=[frame_doc["backendNodeId"]])[
        "nodeIds"
    ]
    node = page.send("DOM.querySelector", nodeId=doc_node, selector=selector)["nodeId"]
    assert node, f"no {selector} in the app"
    quad = page.send("DOM.getBoxModel", nodeId=node)["model"]["content"]
    x, y = (quad[0] + quad[4]) / 2, (quad[1] + quad[5]) / 2
    page.click_at(x, y)


def wait_for(page: Page, predicate: Any, what: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        html = app_html(page)
        if predicate(html):
            return html
        if time.monotonic() > deadline:
            raise AssertionError(f"the app never showed {what}:\n{html[:3000]}")
        time.sleep(0.1)


async def test_approve_in_the_app_reaches_cway_once_and_updates_the_view(
    gateway: StaticTokenGateway, emulator: EmulatorServer
) -> None:
    async with connected(gateway) as client:
        listing = await client.call_tool("list_artworks_to_approve", {})
        assert listing.structured_content is not None
        art = listing.structured_content["artworks"][0]
        arguments = {"artwork_id": art["id"]}
        result = await client.call_tool("review_artwork", arguments)
        assert not result.is_error, result.content
        (resource,) = (await client.read_resource(RESOURCE_URI)).contents
        assert isinstance(resource, TextResourceContents)
        tool_result = result.model_dump(by_alias=True, mode="json", exclude_none=True)

        cm = chromium_page(scripts=True, window="320,1000", extra=("--disable-features=IsolateSandboxedIframes",))
        page = await asyncio.to_thread(cm.__enter__)
        try:
            await asyncio.to_thread(page.navigate, HOST.as_uri())
            mount = f"mount({json.dumps(resource.text)}, {json.dumps(arguments)}, {json.dumps(tool_result)})"
            await asyncio.to_thread(page.evaluate, mount)
            shown = await asyncio.to_thread(
                wait_for, page, lambda h: 'src="data:image/png;base64,' in h, "the preview image"
            )
            assert f">{art['name']}</h1>" in shown and ">FOR_REVIEW</span>" in shown and ">Approve</button>" in shown
            log = await asyncio.to_thread(page.evaluate, "JSON.stringify(hostLog.map(m => m.method || 'reply'))")
            assert json.loads(log)[:2] == ["ui/initialize", "ui/notifications/initialized"]
            before = ARTIFACTS / "review_app.png"
            await asyncio.to_thread(page.screenshot, before)
            print(f"\nscreenshot: {before}")

            await asyncio.to_thread(click_in_app, page, "#approve")
            calls: list[dict[str, Any]] = []
            deadline = time.monotonic() + 20
            while not calls and time.monotonic() < deadline:
                calls = json.loads(await asyncio.to_thread(page.evaluate, "JSON.stringify(outbox.splice(0))"))
                await asyncio.sleep(0.1)
            (call,) = calls
            assert call["method"] == "tools/call"
            assert call["params"] == {"name": "approve_artwork", "arguments": {"artwork_id": art["id"]}}
            answer = await client.call_tool(call["params"]["name"], call["params"]["arguments"])
            delivered = answer.model_dump(by_alias=True, mode="json", exclude_none=True)
            await asyncio.to_thread(page.evaluate, f"deliver({json.dumps(call['id'])}, {json.dumps(delivered)})")
            done = await asyncio.to_thread(wait_for, page, lambda h: "Approved: state now APPROVED" in h, "the outcome")
            assert re.search(r'<button(?=[^>]*id="approve")(?=[^>]*disabled)', done)  # decided: no second click
            assert ">APPROVED</span>" in done
            after = ARTIFACTS / "review_app_approved.png"
            await asyncio.to_thread(page.screenshot, after)
            print(f"screenshot: {after}")
            assert json.loads(await asyncio.to_thread(page.evaluate, "JSON.stringify(outbox)")) == []  # one call only
        finally:
            await asyncio.to_thread(cm.__exit__, None, None, None)

    approvals = [c for c in gateway.calls if c.name == "ApproveArtwork"]
    assert len(approvals) == 1 and approvals[0].variables == {"artworkId": art["id"]}
    events = [e for e in emulator.emulator.store.events.get(art["id"], []) if e.get("name") == "ARTWORK_APPROVED"]
    assert len(events) == 1


def press(page: Page, key: str, code: str, key_code: int, text: str = "") -> None:
    """A real key press (keyDown with its text, so Enter activates a focused button, then keyUp)."""
    page.send("Input.dispatchKeyEvent", type="keyDown", key=key, code=code, windowsVirtualKeyCode=key_code, text=text)
    page.send("Input.dispatchKeyEvent", type="keyUp", key=key, code=code, windowsVirtualKeyCode=key_code)


async def test_reject_with_a_comment_from_the_keyboard(gateway: StaticTokenGateway, emulator: EmulatorServer) -> None:
    """Keyboard only after focusing the comment: type, Tab past Approve to Reject, Enter."""
    async with connected(gateway) as client:
        arguments = {"artwork_id": artwork_id(4)}
        result = await client.call_tool("review_artwork", arguments)
        assert not result.is_error, result.content
        (resource,) = (await client.read_resource(RESOURCE_URI)).contents
        assert isinstance(resource, TextResourceContents)
        tool_result = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        cm = chromium_page(scripts=True, window="320,1000", extra=("--disable-features=IsolateSandboxedIframes",))
        page = await asyncio.to_thread(cm.__enter__)
        try:
            await asyncio.to_thread(page.navigate, HOST.as_uri())
            mount = f"mount({json.dumps(resource.text)}, {json.dumps(arguments)}, {json.dumps(tool_result)})"
            await asyncio.to_thread(page.evaluate, mount)
            await asyncio.to_thread(wait_for, page, lambda h: 'src="data:image/png;base64,' in h, "the preview")
            await asyncio.to_thread(click_in_app, page, "#comment")
            await asyncio.to_thread(page.send, "Input.insertText", text="Logo too small")
            await asyncio.to_thread(press, page, "Tab", "Tab", 9)  # -> Approve
            await asyncio.to_thread(press, page, "Tab", "Tab", 9)  # -> Reject with comment
            await asyncio.to_thread(press, page, "Enter", "Enter", 13, "\r")
            calls: list[dict[str, Any]] = []
            deadline = time.monotonic() + 20
            while not calls and time.monotonic() < deadline:
                calls = json.loads(await asyncio.to_thread(page.evaluate, "JSON.stringify(outbox.splice(0))"))
                await asyncio.sleep(0.1)
            (call,) = calls
            expected = {"artwork_id": artwork_id(4), "comment": "Logo too small"}
            assert call["params"] == {"name": "reject_artwork", "arguments": expected}
            answer = await client.call_tool(call["params"]["name"], call["params"]["arguments"])
            delivered = answer.model_dump(by_alias=True, mode="json", exclude_none=True)
            await asyncio.to_thread(page.evaluate, f"deliver({json.dumps(call['id'])}, {json.dumps(delivered)})")
            await asyncio.to_thread(wait_for, page, lambda h: "Rejected: state now REJECTED" in h, "the outcome")
        finally:
            await asyncio.to_thread(cm.__exit__, None, None, None)
    assert [c.variables for c in gateway.calls if c.name == "RejectArtwork"] == [
        {"input": {"artworkId": artwork_id(4), "username": "alice@contoso.example", "comment": "Logo too small"}}
    ]
