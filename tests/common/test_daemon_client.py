"""The client side of the socket contract: every way a daemon can fail to answer is ``DaemonUnavailable``."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cway_common.daemon_client import DaemonClient, DaemonUnavailable


@pytest.fixture
def socket_path(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "d.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))  # ours, so the owner check passes
        yield path


@pytest.mark.parametrize(
    "error",
    [httpx.ReadError("connection reset"), httpx.WriteError("broken pipe"), httpx.ConnectError("refused")],
)
async def test_transport_failures_are_daemon_unavailable(socket_path: Path, error: httpx.TransportError) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error

    client = DaemonClient(socket_path, timeout=1)
    await client.aclose()
    client._http = httpx.AsyncClient(transport=httpx.MockTransport(fail), base_url="http://cway-authd")
    try:
        with pytest.raises(DaemonUnavailable, match=type(error).__name__):
            await client.bearer("alice@contoso.example")
    finally:
        await client.aclose()
