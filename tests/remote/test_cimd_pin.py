"""The Client ID Metadata Document fetch connects to exactly the address it checked (no DNS rebinding).

A real https server on loopback with a certificate for the name ``client.cimd.test``; the fetch's
resolver is injected (no real DNS), so a test can answer one address at check time and another
afterwards, the way a rebinding attacker's DNS server does. No database, no network beyond loopback.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from cway_remote import cimd
from cway_remote.cimd import CimdError, fetch_client
from tests.helpers.balancer import serving
from tests.helpers.daemon import free_port
from tests.helpers.tls import self_signed

NAME = "client.cimd.test"


class RebindingResolver:
    """Answers ``first`` on the first lookup and ``later`` on every lookup after it."""

    def __init__(self, first: list[str], later: list[str]) -> None:
        self.first, self.later = first, later
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        return self.first if len(self.calls) == 1 else self.later


def document_for(request: Request) -> JSONResponse:
    """The client names its own URL, built from the ``Host`` it was asked for (so it must be the name)."""
    url = f"https://{request.headers['host']}/client.json"
    return JSONResponse({"client_id": url, "client_name": "Pinned", "redirect_uris": ["http://127.0.0.1:1/cb"]})


@pytest.fixture
def tls_host(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """An https server on 127.0.0.1 whose certificate covers ``client.cimd.test`` and 127.0.0.1."""
    cert, key = self_signed(tmp_path, dns_names=[NAME], ips=["127.0.0.1"])
    port = free_port()
    with serving(Starlette(routes=[Route("/client.json", document_for)]), port, cert=cert, key=key):
        yield port, cert


def trusting(cert: Path) -> httpx.AsyncClient:
    return httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(cert)))


async def test_the_fetch_goes_to_the_address_it_checked_even_when_dns_answers_differently_later(
    tls_host: tuple[int, Path],
) -> None:
    port, cert = tls_host
    url = f"https://{NAME}:{port}/client.json"
    # 127.0.0.2 stands for the private address a rebinding DNS answers after the check: nothing
    # listens there, so a fetch that resolves the name again (or lets httpx resolve it) fails.
    resolver = RebindingResolver(first=["127.0.0.1"], later=["127.0.0.2"])
    async with trusting(cert) as http:
        info = await fetch_client(http, url, allow_private=True, scope="cway", resolve=resolver)
    assert info.client_id == url and info.client_name == "Pinned"
    assert resolver.calls == [(NAME, port)]


async def test_the_certificate_is_verified_for_the_name_not_for_the_pinned_address(
    tls_host: tuple[int, Path],
) -> None:
    port, cert = tls_host  # the certificate is valid for 127.0.0.1, but not for this name
    url = f"https://impostor.cimd.test:{port}/client.json"
    async with trusting(cert) as http:
        with pytest.raises(CimdError, match="could not be fetched"):
            await fetch_client(
                http, url, allow_private=True, scope="cway", resolve=RebindingResolver(["127.0.0.1"], [])
            )


async def test_a_public_answer_is_what_the_request_is_sent_to_and_any_private_answer_refuses() -> None:
    url = "https://client.example/oauth/client.json"
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"client_id": url, "redirect_uris": ["http://127.0.0.1:1/cb"]})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        resolver = RebindingResolver(first=["93.184.215.14"], later=["127.0.0.1"])
        await fetch_client(http, url, allow_private=False, scope="cway", resolve=resolver)
        with pytest.raises(CimdError, match="not a public address"):
            mixed = RebindingResolver(first=["93.184.215.14", "10.1.2.3"], later=[])
            await fetch_client(http, url, allow_private=False, scope="cway", resolve=mixed)
    assert len(sent) == 1 and resolver.calls == [("client.example", 443)]
    request = sent[0]
    assert (request.url.host, request.url.port) == ("93.184.215.14", None)
    assert request.headers["host"] == "client.example"
    assert request.extensions["sni_hostname"] == "client.example"


async def test_name_resolution_counts_towards_the_fetch_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cimd, "FETCH_TIMEOUT", 0.05)

    async def never(host: str, port: int) -> list[str]:
        await asyncio.Event().wait()
        return []

    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(500))) as http:
        with pytest.raises(CimdError, match="in time"):
            await fetch_client(http, "https://slow.example/c.json", allow_private=False, scope="cway", resolve=never)


def test_a_metadata_url_with_credentials_or_a_fragment_is_not_one() -> None:
    assert cimd.is_metadata_url("https://client.example/c.json")
    assert not cimd.is_metadata_url("https://user:pw@client.example/c.json")
    assert not cimd.is_metadata_url("https://client.example/c.json#x")
