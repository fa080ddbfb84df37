"""Client ID Metadata Documents: an MCP client whose ``client_id`` is an https URL of its own metadata.

Instead of registering, such a client names a JSON document it hosts (the MCP authorization spec's
preferred way for clients and servers that have no prior relationship). The server fetches it,
checks that it names itself (``client_id`` equals the URL), takes its redirect URIs and name, and
treats it as a public client (PKCE, no secret). Fetched documents are cached in the database for an
hour so a burst of authorizations does not fetch it again on every replica.

The fetch is an outbound request chosen by an unauthenticated caller, so it is fenced: https only,
no redirects, 5 s in all (name resolution included), 16 KiB at most, and the host must resolve to
public addresses only (loopback and private ranges are allowed only when this server's own public
URL is loopback: a development or test deployment). The host is resolved **once**; the connection
then goes to exactly an address that was checked (the request is sent to that IP, with the host
name as ``Host`` header and as TLS server name, so the certificate is still verified for the name).
A DNS answer that changes between the check and the connection (DNS rebinding) therefore cannot
steer the fetch to a private address. What a client declares is shown on the consent page;
nothing in it is trusted beyond that.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
from collections.abc import Awaitable, Callable
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

#: ``(host, port) -> addresses``: how a metadata host is resolved (injectable for tests).
Resolver = Callable[[str, int], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class CimdError(Exception):
    """The document could not be used; the message is safe to show (no document content)."""


def is_metadata_url(client_id: str) -> bool:
    parts = urlsplit(client_id)
    return (
        parts.scheme == "https"
        and bool(parts.hostname)
        and parts.path not in ("", "/")
        and not parts.username
        and not parts.password
        and not parts.fragment
    )


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def checked_addresses(host: str, port: int, *, allow_private: bool, resolve: Resolver) -> list[IPAddress]:
    """Resolve ``host`` once and return its addresses, all of them allowed; raises :class:`CimdError`."""
    try:
        answers = await resolve(host, port)
    except OSError:
        raise CimdError("the client's metadata host does not resolve") from None
    addresses: list[IPAddress] = []
    for answer in answers:
        try:
            address = ipaddress.ip_address(answer)
        except ValueError:
            raise CimdError("the client's metadata host does not resolve to an IP address") from None
        if not address.is_global and not allow_private:
            raise CimdError("the client's metadata host is not a public address")
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise CimdError("the client's metadata host does not resolve")
    return addresses


def pinned_request(http: httpx.AsyncClient, url: str, address: IPAddress) -> httpx.Request:
    """A GET of ``url`` sent to ``address``: the URL names the IP, ``Host`` and the TLS server name
    (``sni_hostname``, which httpcore also uses to verify the certificate) name the host.
    ``Connection: close`` keeps the connection out of the shared pool, so no later request to
    that IP can reuse a connection whose certificate was verified for another name."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or 443
    target = httpx.URL(url).copy_with(host=str(address), port=port)
    return http.build_request(
        "GET",
        target,
        headers={"Host": parts.netloc, "Accept": "application/json", "Connection": "close"},
        timeout=FETCH_TIMEOUT,
        extensions={"sni_hostname": host},
    )


async def _download(http: httpx.AsyncClient, url: str, addresses: list[IPAddress]) -> bytes:
    """The body from the first checked address that accepts a connection (never any other address)."""
    for index, address in enumerate(addresses):
        try:
            response = await http.send(pinned_request(http, url, address), stream=True, follow_redirects=False)
        except httpx.ConnectError:
            if index + 1 < len(addresses):
                continue  # e.g. an IPv6 answer on a host without an IPv6 route
            raise
        try:
            if response.status_code != 200:
                raise CimdError(f"the client's metadata document answered HTTP {response.status_code}")
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise CimdError("the client's metadata document is too large")
            return body
        finally:
            await response.aclose()
    raise CimdError("the client's metadata host does not resolve")  # not reached: addresses is never empty


async def fetch_client(
    http: httpx.AsyncClient,
    url: str,
    *,
    allow_private: bool,
    scope: str,
    resolve: Resolver = system_resolver,
) -> OAuthClientInformationFull:
    """Fetch and validate the document at ``url``; raises :class:`CimdError`."""
    if not is_metadata_url(url):
        raise CimdError("a client metadata URL must be https with a path, without credentials or fragment")
    parts = urlsplit(url)
    try:
        async with asyncio.timeout(FETCH_TIMEOUT):
            addresses = await checked_addresses(
                parts.hostname or "", parts.port or 443, allow_private=allow_private, resolve=resolve
            )
            body = await _download(http, url, addresses)
    except TimeoutError:
        raise CimdError("the client's metadata document could not be fetched in time") from None
    except httpx.HTTPError as exc:
        raise CimdError(f"the client's metadata document could not be fetched ({type(exc).__name__})") from None
    return parse_document(body, url, scope)


def parse_document(body: bytes, url: str, scope: str) -> OAuthClientInformationFull:
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
