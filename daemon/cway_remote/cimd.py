"""Client ID Metadata Documents: an MCP client whose ``client_id`` is an https URL of its own metadata.

Instead of registering, such a client names a JSON document it hosts (the MCP authorization spec's
preferred way for clients and servers that have no prior relationship). The server fetches it,
checks that it names itself (``client_id`` equals the URL), takes its redirect URIs and name, and
treats it as a public client (PKCE, no secret). Fetched documents are cached in the database for an
hour so a burst of authorizations does not fetch it again on every replica.

The fetch is an outbound request chosen by an unauthenticated caller, so it is fenced: https only,
no redirects, 5 s, 16 KiB at most, and the host must resolve to public addresses only (loopback and
private ranges are allowed only when this server's own public URL is loopback: a development or
test deployment). What a client declares is shown on the consent page; nothing in it is trusted
beyond that.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata
from pydantic import ValidationError

log = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 16 * 1024
FETCH_TIMEOUT = 5.0
CACHE_LIFETIME = timedelta(hours=1)


class CimdError(Exception):
    """The document could not be used; the message is safe to show (no document content)."""


def is_metadata_url(client_id: str) -> bool:
    parts = urlsplit(client_id)
    return parts.scheme == "https" and bool(parts.hostname) and parts.path not in ("", "/")


async def _check_host(host: str, allow_private: bool) -> None:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    except OSError:
        raise CimdError("the client's metadata host does not resolve") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global and not allow_private:
            raise CimdError("the client's metadata host is not a public address")


async def fetch_client(
    http: httpx.AsyncClient, url: str, *, allow_private: bool, scope: str
) -> OAuthClientInformationFull:
    """Fetch and validate the document at ``url``; raises :class:`CimdError`."""
    await _check_host(urlsplit(url).hostname or "", allow_private)
    try:
        async with http.stream(
            "GET", url, headers={"Accept": "application/json"}, timeout=FETCH_TIMEOUT, follow_redirects=False
        ) as response:
            if response.status_code != 200:
                raise CimdError(f"the client's metadata document answered HTTP {response.status_code}")
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise CimdError("the client's metadata document is too large")
    except httpx.HTTPError as exc:
        raise CimdError(f"the client's metadata document could not be fetched ({type(exc).__name__})") from None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise CimdError("the client's metadata document is not JSON") from None
    if not isinstance(data, dict) or data.get("client_id") != url:
        raise CimdError("the client's metadata document does not name its own URL as client_id")
    if data.get("client_secret") or data.get("token_endpoint_auth_method", "none") != "none":
        raise CimdError("a client identified by a metadata document must be a public client (no secret)")
    try:
        metadata = OAuthClientMetadata.model_validate({k: v for k, v in data.items() if k != "client_id"})
    except ValidationError:
        raise CimdError("the client's metadata document is not valid client metadata") from None
    return OAuthClientInformationFull.model_validate(
        # The server has one scope; a document cannot grant itself others (DCR clients get the same default).
        {**metadata.model_dump(), "client_id": url, "token_endpoint_auth_method": "none", "scope": scope}
    )


def cache_entry(info: OAuthClientInformationFull, now: datetime) -> dict[str, Any]:
    return {**info.model_dump(mode="json"), "_cimd_fetched_at": now.isoformat()}


def from_cache(entry: dict[str, Any], now: datetime) -> OAuthClientInformationFull | None:
    fetched = entry.get("_cimd_fetched_at")
    if not isinstance(fetched, str) or now - datetime.fromisoformat(fetched) > CACHE_LIFETIME:
        return None
    return OAuthClientInformationFull.model_validate({k: v for k, v in entry.items() if k != "_cimd_fetched_at"})
