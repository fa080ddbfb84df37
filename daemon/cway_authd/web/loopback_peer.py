"""Is the program on the other end of a loopback TCP connection running as us? (Linux: /proc/net/tcp.)

The accounts page lists names and offers Sign out, but a TCP port on 127.0.0.1 is open to every
local user. The kernel knows who owns each socket: the peer's end of a loopback connection is a
row in ``/proc/net/tcp`` (or ``tcp6``) whose local address is the peer's address and whose remote
address is ours, and that row names the owning uid (what identd reports). Where that table does
not exist (macOS), the answer is "unknown", and the page treats the peer as a stranger.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

PROC_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))


def _hex_address(host: str, port: int) -> str:
    """An address as /proc/net/tcp spells it: 32-bit words in host (little-endian) order, port in hex."""
    packed = ipaddress.ip_address(host.strip("[]")).packed
    words = "".join(packed[i : i + 4][::-1].hex() for i in range(0, len(packed), 4))
    return f"{words.upper()}:{port:04X}"


def peer_uid(client: tuple[str, int], server: tuple[str, int]) -> int | None:
    """The uid owning the client end of the connection ``client`` -> ``server``; None when unknown."""
    try:
        local, remote = _hex_address(*client), _hex_address(*server)
    except ValueError:
        return None
    for table in PROC_TABLES:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 7 and fields[1] == local and fields[2] == remote:
                return int(fields[7])
    return None


def is_own_peer(client: tuple[str, int] | None, server: tuple[str, int] | None) -> bool:
    if client is None or server is None:
        return False
    return peer_uid(client, server) == os.geteuid()
