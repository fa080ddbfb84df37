"""Parsing OAuth token-endpoint answers, shared by Cway's ``/oauth/token`` and the IdP's token endpoint.

A success becomes a :class:`TokenGrant` with *absolute* UTC expiries computed from the injected
clock at the moment the request was sent (so network latency makes us refresh early, never
late). A failure becomes one of the ``Backend*`` exceptions, classified by what it means for the
stored grant (see :mod:`cway_auth_core.errors`).
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import httpx

from cway_auth_core.entra_errors import ErrorClass, aadsts_code, admin_hint, classify
from cway_auth_core.errors import BackendFatal, BackendMisconfigured, BackendRejected, BackendTransient
from cway_auth_core.http import json_object

if TYPE_CHECKING:
    from cway_auth_core.records import TokenRecord

# Used only when a response states no lifetime and the token is not a JWT with "exp".
FALLBACK_ACCESS_LIFETIME = timedelta(hours=1)

# The longest token lifetime believed (anything longer is a broken answer, not a real lifetime).
MAX_TOKEN_LIFETIME = timedelta(days=400)

# The longest Retry-After honoured (a refresh token lives ~40 h; waiting longer helps nobody).
MAX_RETRY_AFTER = timedelta(hours=1)


@dataclass(frozen=True, repr=False)
class TokenGrant:
    """What a token endpoint issued. ``repr`` never shows a token."""

    access_token: str
    refresh_token: str | None
    token_type: str
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    id_token: str | None = None
    #: A silent re-exchange: the Entra refresh token to keep from now on, and when Entra issued it.
    idp_refresh_token: str | None = None
    idp_refreshed_at: datetime | None = None

    def carried(self) -> dict[str, object]:
        """Record fields this grant replaces besides Cway's tokens (the Entra refresh token, if renewed)."""
        if self.idp_refresh_token is None:
            return {}
        return {"idp_refresh_token": self.idp_refresh_token, "idp_refreshed_at": self.idp_refreshed_at}

    def applied_to(self, record: TokenRecord, now: datetime) -> TokenRecord:
        """``record`` after this refresh: a grant without a refresh token keeps the old one (and its expiry);
        a silent re-exchange also renews the Entra refresh token. One rule for the daemon and the remote server."""
        return record.replace(
            access_token=self.access_token,
            refresh_token=self.refresh_token or record.refresh_token,
            token_type=self.token_type,
            access_expires_at=self.access_expires_at,
            refresh_expires_at=self.refresh_expires_at if self.refresh_token else record.refresh_expires_at,
            last_refreshed_at=now,
            **self.carried(),
        )

    def __repr__(self) -> str:
        return (
            f"TokenGrant(token_type={self.token_type!r}, access_expires_at={self.access_expires_at.isoformat()}, "
            f"refresh_token={'set' if self.refresh_token else 'none'})"
        )


def jwt_expiry(token: str) -> datetime | None:
    """The ``exp`` claim of a JWT, read *without* verification: only used to schedule refreshes."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        exp = claims.get("exp") if isinstance(claims, dict) else None
        if isinstance(exp, int | float) and not isinstance(exp, bool):
            return datetime.fromtimestamp(exp, UTC)
    except (ValueError, UnicodeError, OverflowError, OSError):
        return None
    return None


def _seconds(value: object) -> float | None:
    """A lifetime in seconds, capped at ``MAX_TOKEN_LIFETIME``; None if absent, not a number or NaN.

    The cap matters: the answer holds a freshly rotated refresh token, and ``timedelta`` arithmetic
    with an absurd (or infinite) lifetime would raise and lose it.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | str):
        try:
            seconds = float(value)
        except (ValueError, OverflowError):
            return None
        if math.isnan(seconds):
            return None
        return min(seconds, MAX_TOKEN_LIFETIME.total_seconds())
    return None


def parse_token_response(response: httpx.Response, *, sent_at: datetime, what: str) -> TokenGrant:
    """A 2xx answer → ``TokenGrant``; anything else → a classified ``Backend*`` exception."""
    if not response.is_success:
        raise classify_failure(response, what=what, now=sent_at)
    data = json_object(response)
    if data is None:
        raise BackendRejected(f"{what} answered {response.status_code} without a JSON object")
    access = data.get("access_token")
    if not isinstance(access, str) or not access:
        raise BackendRejected(f"{what} answered without an access_token")
    refresh = data.get("refresh_token")
    refresh = refresh if isinstance(refresh, str) and refresh else None
    token_type = data.get("token_type")
    token_type = token_type if isinstance(token_type, str) and token_type else "Bearer"
    if token_type.lower() == "bearer":
        token_type = "Bearer"

    expires_in = _seconds(data.get("expires_in"))
    if expires_in is not None and expires_in > 0:
        access_expires = sent_at + timedelta(seconds=expires_in)
    else:
        access_expires = jwt_expiry(access) or sent_at + FALLBACK_ACCESS_LIFETIME

    refresh_expires: datetime | None = None
    if refresh:
        refresh_in = _seconds(data.get("refresh_expires_in") or data.get("refresh_token_expires_in"))
        if refresh_in is not None and refresh_in > 0:
            refresh_expires = sent_at + timedelta(seconds=refresh_in)
        else:
            refresh_expires = jwt_expiry(refresh)
    id_token = data.get("id_token")
    return TokenGrant(
        access_token=access,
        refresh_token=refresh,
        token_type=token_type,
        access_expires_at=access_expires,
        refresh_expires_at=refresh_expires,
        id_token=id_token if isinstance(id_token, str) and id_token else None,
    )


def retry_after_seconds(response: httpx.Response, now: datetime) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or HTTP-date), or None; capped at ``MAX_RETRY_AFTER``.

    The cap keeps a backend's absurd value from overflowing the cooldown's datetime arithmetic
    (and from silencing an account for days).
    """
    raw = response.headers.get("Retry-After")
    if not raw:
        return None
    raw = raw.strip()
    if raw.isascii() and raw.isdigit():  # str.isdigit alone accepts "²", which float() refuses
        return min(float(raw), MAX_RETRY_AFTER.total_seconds())
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER.total_seconds())


_SAFE_TEXT = re.compile(r"[^\w .,:;'()\-/@]")


def clean_text(value: object, limit: int = 200) -> str:
    """Backend-supplied text made safe to show: one line, plain characters, bounded length."""
    if not isinstance(value, str):
        return ""
    text = _SAFE_TEXT.sub(" ", value.replace("\r", " ").replace("\n", " "))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def classify_failure(response: httpx.Response, *, what: str, now: datetime) -> Exception:
    """Map a non-2xx token-endpoint answer to transient / fatal / misconfigured / rejected.

    The class comes from :func:`cway_auth_core.entra_errors.classify` (AADSTS code first, then the
    OAuth ``error``, then the status): a client-authentication error is never ``BackendFatal``.
    """
    status = response.status_code
    data = json_object(response) or {}
    error = clean_text(data.get("error"), 60)
    raw_description = data.get("error_description") or data.get("message")
    description = clean_text(raw_description)
    detail = f"{what} answered {status}" + (f" {error}" if error else "") + (f": {description}" if description else "")
    code = aadsts_code(raw_description if isinstance(raw_description, str) else "", data.get("error_codes"))
    kind = classify(status, error, code)
    if kind is ErrorClass.TRANSIENT:
        return BackendTransient(detail, retry_after=retry_after_seconds(response, now))
    if kind is ErrorClass.SIGN_IN:
        return BackendFatal(detail)
    if kind is ErrorClass.ADMIN:
        label = f"AADSTS{code}" if code is not None else (error or f"HTTP {status}")
        return BackendMisconfigured(f"{detail} (ask your administrator: {label}, {admin_hint(code)})", code=label)
    return BackendRejected(detail)
