"""Rate limits of the OAuth endpoints: their settings, and token buckets in memory.

The endpoints an unauthenticated caller can reach each cost the server something (a database
write for ``/register`` and ``/authorize``, a client lookup, possibly an outbound metadata fetch,
for ``/token``). A token bucket per caller bounds that: ``N`` requests per minute, refilled
continuously, with a burst of ``N``. The callers are told apart by client IP (IPv6 by its /64, the
smallest block one host is usually given) and, at ``/token`` and ``/revoke``, by the client id *and*
the IP together, so nobody can use up a public client's allowance for everyone by sending its id.

Buckets live in each replica's memory: with N replicas behind a round-robin balancer a caller gets
up to N times the limit, which is enough to stop a flood and costs no database round trip.
"""

from __future__ import annotations

import ipaddress
import math
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from cway_contract import Clock, ConfigError

#: What a bucket table holds at most; past that the least recently seen callers are forgotten
#: (a forgotten caller starts again with a full bucket: the cost of bounded memory).
MAX_KEYS = 10_000


@dataclass(frozen=True)
class RateLimits:
    """Requests per minute (0 = no limit) for each endpoint family."""

    register: int = 10
    authorize: int = 30
    consent: int = 90  # a sign-in takes up to three steps here: GET /consent, the callback, POST /consent
    token_per_client: int = 60
    token_per_ip: int = 300


#: setting name -> field of :class:`RateLimits`
SETTINGS = {
    "CWAY_MCP_RATE_REGISTER": "register",
    "CWAY_MCP_RATE_AUTHORIZE": "authorize",
    "CWAY_MCP_RATE_CONSENT": "consent",
    "CWAY_MCP_RATE_TOKEN": "token_per_client",
    "CWAY_MCP_RATE_TOKEN_IP": "token_per_ip",
}


def load_rate_limits(values: Mapping[str, str]) -> RateLimits:
    """The limits from the loader's merged values; a bad value is a :class:`ConfigError`."""
    chosen: dict[str, int] = {}
    for name, field_name in SETTINGS.items():
        raw = values.get(name)
        if raw is None:
            continue
        if not raw.strip().isdigit() or int(raw) > 1_000_000:
            raise ConfigError(name, raw, "must be a whole number of requests per minute (0 turns the limit off)")
        chosen[field_name] = int(raw)
    return RateLimits(**chosen)


def load_trusted_proxies(values: Mapping[str, str]) -> str | None:
    """``CWAY_MCP_TRUSTED_PROXIES``: comma-separated addresses or networks of the load balancer(s), or
    ``*``; unset means uvicorn's default (loopback only: a peer elsewhere is the client itself)."""
    raw = values.get("CWAY_MCP_TRUSTED_PROXIES")
    if raw is None:
        return None
    entries = [e.strip() for e in raw.split(",") if e.strip()]
    for entry in entries:
        if entry == "*":
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(
                "CWAY_MCP_TRUSTED_PROXIES", raw, "must be IP addresses or networks (10.0.0.0/8), comma-separated, or *"
            ) from None
    return ",".join(entries) or None


def caller_address(host: str | None) -> str:
    """The key of a client address: an IPv4 address, an IPv6 address's /64, or the text as given."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass
class _Bucket:
    tokens: float
    updated: datetime
    refusing: bool = False


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # whole seconds until one request is allowed again
    first_refusal: bool = False  # the first refusal since this caller was last allowed (audit once)


class TokenBuckets:
    """``per_minute`` requests per key and minute, refilled continuously; time from the injected clock."""

    def __init__(self, per_minute: int, clock: Clock, *, max_keys: int = MAX_KEYS) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str) -> Verdict:
        if self.per_minute <= 0:
            return Verdict(True)
        now = self._clock.now()
        rate = self.per_minute / 60.0
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(tokens=float(self.per_minute), updated=now)
            self._buckets[key] = bucket
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            elapsed = max(0.0, (now - bucket.updated).total_seconds())  # a clock set back refills nothing
            bucket.tokens = min(float(self.per_minute), bucket.tokens + elapsed * rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.refusing = False
            return Verdict(True)
        first = not bucket.refusing
        bucket.refusing = True
        return Verdict(False, retry_after=max(1, math.ceil((1.0 - bucket.tokens) / rate)), first_refusal=first)

    def __len__(self) -> int:
        return len(self._buckets)
