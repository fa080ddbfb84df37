"""When a token is due for a refresh: the one rule the daemon and the remote server both follow.

Both keep Cway tokens fresh ahead of use, and they must agree on "ahead": a record moved from one to
the other (or read by an operator comparing them) is refreshed at the same moment. The rule:

* **Due** ``threshold`` before the access token expires (``CWAY_REFRESH_THRESHOLD_SECONDS``, 5 min by
  default), but never before half its lifetime has passed: a token that lives 4 minutes is not due
  the moment it is issued (that would refresh in a loop), it is due after 2.
* **Planned** (the background schedule): the due time minus a per-token jitter of at most
  :data:`MAX_JITTER_SECONDS` (and at most half the window between due and expiry), so accounts signed
  in together do not all refresh in the same second. The jitter is a function of the token, not a
  fresh random number per look, so the worker that wakes up agrees with the arming that woke it.
  Never later than the refresh token's own due time (the same threshold/half-lifetime rule applied to
  the refresh token's expiry): a refresh token must not run out while its access token waits.
* **Dead** once the refresh token's known expiry has passed (``<=``): refreshing with it is pointless.

Pure functions of the record and ``now`` (the caller's injected clock): aware UTC datetimes in and
out, no state, so a test pins the rule without a scheduler or a sleep.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cway_auth_core.records import TokenRecord

MAX_JITTER_SECONDS = 30.0


def _before_expiry(expires_at: datetime, issued_at: datetime, threshold: timedelta) -> datetime:
    """``threshold`` before ``expires_at``, but never before half the lifetime since ``issued_at``."""
    lifetime = max(expires_at - issued_at, timedelta(0))
    return expires_at - min(threshold, lifetime / 2)


def issued_at(record: TokenRecord) -> datetime:
    """When the record's tokens were last issued (the start of their lifetime)."""
    return record.last_refreshed_at or record.created_at


def due_at(record: TokenRecord, threshold: timedelta) -> datetime:
    """When the access token is due: ``threshold`` before expiry, never before half its lifetime."""
    return _before_expiry(record.access_expires_at, issued_at(record), threshold)


def is_due(record: TokenRecord, threshold: timedelta, now: datetime) -> bool:
    """Due from the due time on (inclusive): at exactly ``due_at`` the token is refreshed."""
    return now >= due_at(record, threshold)


def refresh_token_expired(record: TokenRecord, now: datetime) -> bool:
    """The refresh token's known expiry has passed (inclusive); an unknown expiry never has."""
    return record.refresh_expires_at is not None and record.refresh_expires_at <= now


def planned_at(record: TokenRecord, threshold: timedelta) -> datetime:
    """When the background refresh happens: due minus a per-token jitter, never after the refresh
    token's own due time. Jitter only ever moves a refresh earlier, never skips one."""
    due = due_at(record, threshold)
    window = record.access_expires_at - due
    spread = min(timedelta(seconds=MAX_JITTER_SECONDS), window / 2)
    digest = int.from_bytes(hashlib.sha256(record.access_token.encode()).digest()[:4], "big")
    planned = due - spread * (digest / 2**32)
    if record.refresh_expires_at is not None:
        planned = min(planned, _before_expiry(record.refresh_expires_at, issued_at(record), threshold))
    return planned
