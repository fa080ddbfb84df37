"""Signing keys and JWT helpers for the emulated IdP (RS256) and Cway backend (HS256).

The RSA key is generated once per process and cached: generating 2048-bit keys costs ~0.2 s
and tests start many emulators. Each emulator still gets its own Cway HMAC secret, so a
token minted by one instance is a "foreign signature" to every other one.
"""

from __future__ import annotations

import base64
import functools
import json
import secrets
import ssl
from datetime import datetime
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey, RSAKey


class TokenInvalid(Exception):
    """Signature, algorithm or structure of a JWT is wrong (the reason is not a secret)."""


@functools.lru_cache(maxsize=1)
def idp_signing_key() -> RSAKey:
    """The process-wide RS256 key of the emulated Entra ID."""
    kid = "emu-" + secrets.token_hex(8)
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"}, private=True)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: httpx builds a new one per client (~40 ms)
    otherwise, which dominated the emulator's per-request cost. Only loopback HTTP is used."""
    return ssl.create_default_context()


def jwks_document(key: RSAKey) -> dict[str, Any]:
    public = dict(key.as_dict(private=False))
    public.setdefault("use", "sig")
    public.setdefault("alg", "RS256")
    return {"keys": [public]}


def epoch(when: datetime) -> int:
    return int(when.timestamp())


def sign_rs256(key: RSAKey, claims: dict[str, Any]) -> str:
    return jwt.encode({"alg": "RS256", "typ": "JWT", "kid": key.kid}, claims, key)


def new_hs256_key() -> OctKey:
    return OctKey.import_key(secrets.token_bytes(32))


def sign_hs256(key: OctKey, claims: dict[str, Any]) -> str:
    return jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, key)


def unverified_header(token: str) -> dict[str, Any]:
    """A JWT's protected header, *not* verified: only to pick which check applies."""
    head = token.split(".", 1)[0]
    try:
        data = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def verify(token: str, key: RSAKey | OctKey, algorithm: str) -> dict[str, Any]:
    """Check signature and algorithm only; time-based checks use the injectable clock."""
    try:
        decoded = jwt.decode(token, key, algorithms=[algorithm])
    except (JoseError, ValueError, TypeError) as exc:
        raise TokenInvalid(type(exc).__name__) from exc
    return dict(decoded.claims)
