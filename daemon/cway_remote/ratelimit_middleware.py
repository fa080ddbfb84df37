"""The rate limits in front of the OAuth endpoints: an ASGI middleware that answers 429 before any work.

It runs before the SDK's handlers and the consent page, so a refused request costs no database
query, no client lookup and no metadata fetch, and the answer is the same whether or not the client
id it names exists (the limit is keyed by the id as presented, never looked up). The client IP is
the ASGI ``client`` of the request: the socket peer, or the address uvicorn took from
``X-Forwarded-For`` when the peer is a trusted proxy (``CWAY_MCP_TRUSTED_PROXIES``).

The error codes are the registered ones closest to "too many requests": ``slow_down`` (RFC 8628,
a token endpoint error: "increase the interval") at ``/token`` and ``/revoke``;
``temporarily_unavailable`` (RFC 6749 §4.1.2.1) at ``/authorize``, the consent page, the Entra
callback and ``/register`` (RFC 7591 defines none of its own). Every 429 carries ``Retry-After``. The first
refusal of a caller (until it is allowed again) is audited as ``rate_limited``: endpoint, the
caller's address key, the presented client id, never a body, a secret or a token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cway_contract import Clock
from cway_remote.audit import AuditSink
from cway_remote.ratelimit import RateLimits, TokenBuckets, Verdict, caller_address
from cway_remote.settings import CALLBACK_PATH

#: A form larger than this is not searched for ``client_id`` (the SDK refuses huge bodies itself).
MAX_FORM_BYTES = 64 * 1024


@dataclass(frozen=True)
class Rule:
    endpoint: str
    error: str
    per_ip: TokenBuckets
    per_client: TokenBuckets | None = None
    cors: bool = False


class RateLimiter:
    """The buckets of one replica, and which request goes to which."""

    def __init__(self, limits: RateLimits, clock: Clock, audit: AuditSink) -> None:
        self.limits = limits
        self._audit = audit
        register = Rule("register", "temporarily_unavailable", TokenBuckets(limits.register, clock), cors=True)
        authorize = Rule("authorize", "temporarily_unavailable", TokenBuckets(limits.authorize, clock))
        consent = Rule("consent", "temporarily_unavailable", TokenBuckets(limits.consent, clock))
        token = Rule(
            "token",
            "slow_down",
            TokenBuckets(limits.token_per_ip, clock),
            TokenBuckets(limits.token_per_client, clock),
            cors=True,
        )
        self.rules: dict[tuple[str, str], Rule] = {
            ("POST", "/register"): register,
            ("GET", "/authorize"): authorize,
            ("POST", "/authorize"): authorize,
            ("GET", "/consent"): consent,
            ("POST", "/consent"): consent,
            ("GET", CALLBACK_PATH): consent,  # an unknown state costs a database lookup: limited like the page
            ("POST", "/token"): token,
            ("POST", "/revoke"): token,
        }

    def check(self, rule: Rule, address: str, client_id: str | None) -> Verdict:
        verdict = rule.per_ip.take(address)
        per_client = False
        if verdict.allowed and rule.per_client is not None and client_id is not None:
            hashed = hashlib.sha256(client_id.encode("utf-8", "replace")).hexdigest()
            verdict = rule.per_client.take(f"{address} {hashed}")
            per_client = True
        if verdict.first_refusal:
            self._audit.event(
                "rate_limited",
                endpoint=rule.endpoint,
                client_ip=address,
                client_id=client_id[:200] if per_client and client_id is not None else None,
                per_minute=(rule.per_client if per_client and rule.per_client else rule.per_ip).per_minute,
                retry_after=verdict.retry_after,
            )
        return verdict


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = (
            self.limiter.rules.get((scope.get("method", ""), scope.get("path", "")))
            if scope["type"] == "http"
            else None
        )
        if rule is None:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = caller_address(client[0] if client else None)
        client_id: str | None = None
        if rule.per_client is not None:
            client_id = basic_client_id(scope)
            if client_id is None:
                receive, client_id = await form_client_id(scope, receive)
        verdict = self.limiter.check(rule, address, client_id)
        if verdict.allowed:
            await self.app(scope, receive, send)
            return
        await too_many(scope, send, rule, verdict.retry_after)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def basic_client_id(scope: Scope) -> str | None:
    """The client id of ``client_secret_basic`` (RFC 6749 §2.3.1: form-encoded, then base64); the secret is dropped."""
    auth = _header(scope, b"authorization")
    if not auth or not auth.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, _, _ = decoded.partition(":")
    return unquote(client_id) or None


async def form_client_id(scope: Scope, receive: Receive) -> tuple[Receive, str | None]:
    """Read the form (up to :data:`MAX_FORM_BYTES`) for ``client_id`` and hand back a ``receive`` that
    replays what was read, so the endpoint gets the body untouched."""
    content_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return receive, None
    read: list[Message] = []
    size = 0
    while True:
        message = await receive()
        read.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if not message.get("more_body", False) or size > MAX_FORM_BYTES:
            break
    complete = read[-1]["type"] == "http.request" and not read[-1].get("more_body", False)
    client_id = None
    if complete and size <= MAX_FORM_BYTES:
        body = b"".join(m.get("body", b"") for m in read)
        try:
            values = parse_qs(body.decode("utf-8", "replace"), max_num_fields=50).get("client_id")
        except ValueError:  # more fields than any OAuth request has: the endpoint refuses it anyway
            values = None
        client_id = values[0] if values else None

    async def replay() -> Message:
        return read.pop(0) if read else await receive()

    return replay, client_id


async def too_many(scope: Scope, send: Send, rule: Rule, retry_after: int) -> None:
    body = json.dumps(
        {
            "error": rule.error,
            "error_description": f"too many requests; try again in {retry_after} second(s)",
        }
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after).encode()),
        (b"cache-control", b"no-store"),
    ]
    if rule.cors and _header(scope, b"origin") is not None:
        headers.append((b"access-control-allow-origin", b"*"))  # as the SDK's CORS wrapper answers
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
