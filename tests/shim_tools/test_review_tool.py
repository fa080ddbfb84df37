"""``review_artwork`` against the emulator: the preview fetched with the caller's bearer and inlined,
the app named in ``_meta.ui``, the ``ui://`` resource self-contained and clean."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
from mcp import Client
from mcp.types import ImageContent, ResourceLink, TextContent, TextResourceContents

from cway_emulator import EmulatorServer
from cway_tools.review_app import CSP, RESOURCE_URI
from tests.shim_tools.conftest import ALICE, BOB, connected
from tests.shim_tools.static_gateway import StaticTokenGateway


async def _first_to_approve(c: Client) -> dict[str, Any]:
    listing = await c.call_tool("list_artworks_to_approve", {})
    assert not listing.is_error and listing.structured_content is not None, listing.content
    first: dict[str, Any] = listing.structured_content["artworks"][0]
    return first


async def test_review_carries_the_preview_as_image_data_and_names_the_app(
    gateway: StaticTokenGateway, emulator: EmulatorServer
) -> None:
    async with connected(gateway) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
        assert tools["review_artwork"].meta == {"ui": {"resourceUri": RESOURCE_URI}}
        assert tools["list_artworks_to_approve"].meta == {"ui": {"resourceUri": RESOURCE_URI}}
        art = await _first_to_approve(c)
        result = await c.call_tool("review_artwork", {"artwork_id": art["id"]})
    assert not result.is_error, result.content
    (text, image, link) = result.content
    assert isinstance(text, TextContent) and art["name"] in text.text and "approve" in text.text
    assert isinstance(image, ImageContent) and image.mime_type == "image/png"
    assert isinstance(link, ResourceLink) and str(link.uri) == f"cway://artworks/{art['id']}"
    assert base64.b64decode(image.data).startswith(b"\x89PNG\r\n\x1a\n")
    review = result.structured_content
    assert review is not None and review["id"] == art["id"] and review["preview"] == "image"
    assert review["approvers"] and review["can_approve"] is True
    # The signed download URL went to the emulator with Alice's bearer, and is returned nowhere.
    fetches = [call for call in gateway.calls if call.name == "fetch_file"]
    assert len(fetches) == 1 and fetches[0].username == ALICE
    assert fetches[0].variables["url"] not in str(result.model_dump())
    assert "sig=" not in str(result.model_dump())


async def test_another_users_artwork_is_not_found_and_a_signed_preview_url_is_bound_to_its_user(
    gateway: StaticTokenGateway, emulator: EmulatorServer
) -> None:
    async with connected(gateway) as c:
        art = await _first_to_approve(c)
        assert not (await c.call_tool("review_artwork", {"artwork_id": art["id"]})).is_error
        other = await c.call_tool("review_artwork", {"artwork_id": art["id"], "username": BOB})
    assert other.is_error and "not found" in str(other.content)  # Bob is in another organisation
    (url,) = [call.variables["url"] for call in gateway.calls if call.name == "fetch_file"]
    async with httpx.AsyncClient(timeout=10) as http:
        assert (await http.get(url)).status_code == 401  # the URL alone is not enough
        as_bob = await http.get(url, headers={"Authorization": f"Bearer {gateway.tokens[BOB]}"})
        assert as_bob.status_code == 403  # signed for Alice
        as_alice = await http.get(url, headers={"Authorization": f"Bearer {gateway.tokens[ALICE]}"})
        assert as_alice.status_code == 200 and as_alice.headers["content-type"] == "image/png"


async def test_the_app_resource_is_self_contained_with_a_strict_csp(gateway: StaticTokenGateway) -> None:
    async with connected(gateway) as c:
        resources = {str(r.uri): r for r in (await c.list_resources()).resources}
        assert resources[RESOURCE_URI].mime_type == "text/html;profile=mcp-app"
        read = await c.read_resource(RESOURCE_URI)
        (body,) = read.contents
        assert isinstance(body, TextResourceContents) and body.mime_type == "text/html;profile=mcp-app"
        assert body.meta is not None
        csp = body.meta["ui"]["csp"]
        assert all(csp[k] == [] for k in ("connectDomains", "resourceDomains", "frameDomains", "baseUriDomains"))
    html = body.text
    assert f'content="{CSP}"' in html and "default-src 'none'" in CSP and "connect-src 'none'" in CSP
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", html)  # nothing loaded from anywhere
    assert not re.search(r"\bfetch\(|XMLHttpRequest|WebSocket|import\(", html)
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", html)  # no e-mail address
    assert not re.search(r"eyJ[\w-]{10,}|cway-static-|cwm_(at|rt|ac)_|Bearer\s+\S", html)  # no token or code
    assert ".innerHTML" not in html  # text is set with textContent: names cannot inject markup
