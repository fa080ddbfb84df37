"""The daemon's in-memory view of its accounts: the current record, or a tombstone.

The store is the durable copy; this book is what the token API reads on its lock-free fast
path. An account whose refresh token died keeps a *tombstone* here (username and the reason,
no tokens) so ``list_accounts`` can still say "needs sign-in" after the record was deleted.
Tombstones outlive a restart through :mod:`sign_in_needed` (loaded back at start-up) and end
only with a new sign-in or a logout.
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass
from datetime import datetime

from cway_auth_core import renewable_until
from cway_authd.store import TokenRecord, normalise_username
from cway_contract import AccountInfo, AccountState


@dataclass(repr=False)
class AccountEntry:
    username: str
    record: TokenRecord | None
    last_error: str | None = None
    refreshing: bool = False
    retry_not_before: datetime | None = None
    failures: int = 0
    unsaved: bool = False  # refreshed, but the store write failed: served from memory, save retried
    #: The AADSTS code (or OAuth error) of a configuration refusal at the last refresh: tokens kept, admin to fix.
    misconfigured: str | None = None
    #: A tombstone's last good access-token expiry (its record is gone; status still shows when it ran out).
    last_expiry: datetime | None = None

    def state(self, now: datetime) -> AccountState:
        """From the last real outcome, never from hope: an expired token is never ``ok``."""
        if self.record is None:
            return "needs_sign_in"
        if self.refreshing:
            return "refreshing"
        if self.unsaved:
            return "unsaved"  # refreshed, but only in memory: the disk would not take it
        if self.misconfigured:
            return "misconfigured"  # the app registration/settings were refused: the administrator's to fix
        if self.record.access_expires_at <= now:
            return "expired"  # not refreshed in time (the backend failed, or nothing ran)
        if self.failures:
            return "retrying"  # the last refresh failed; the token still works meanwhile
        return "ok"

    def __repr__(self) -> str:
        return f"AccountEntry(username={self.username!r}, signed_in={self.record is not None})"

    def info(self, now: datetime, next_refresh_at: datetime | None = None) -> AccountInfo:
        rec = self.record
        return AccountInfo(
            username=self.username,
            state=self.state(now),
            next_refresh_at=next_refresh_at if rec else None,
            display_name=rec.display_name if rec else None,
            email=rec.email if rec else None,
            tenant=rec.tenant if rec else None,
            organisation_id=rec.organisation_id if rec else None,
            organisation_name=rec.organisation_name if rec else None,
            access_expires_at=rec.access_expires_at if rec else self.last_expiry,
            refresh_expires_at=rec.refresh_expires_at if rec else None,
            last_refreshed_at=rec.last_refreshed_at if rec else None,
            last_error=self.last_error,
            renewable_until=renewable_until(rec) if rec else None,
            silent_reexchange=bool(rec and rec.idp_refresh_token),
        )


class AccountBook:
    """Entries keyed by normalised username, plus two indexes so that no request walks every account.

    ``_emails`` maps a record's normalised e-mail address to its account key (a shim may name the
    account by either); ``_tombstones`` holds the keys without tokens, so counting is O(1). An
    entry loses its record only through :meth:`tombstone` and leaves only through :meth:`remove`.
    """

    def __init__(self) -> None:
        self._entries: dict[str, AccountEntry] = {}
        self._emails: dict[str, str] = {}
        self._tombstones: set[str] = set()

    @staticmethod
    def key(username: str) -> str:
        return normalise_username(username)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> AccountEntry | None:
        return self._entries.get(key)

    def key_for_email(self, email_key: str) -> str | None:
        """The account key whose record carries this (normalised) e-mail address, if any."""
        return self._emails.get(email_key)

    def username_of(self, key: str) -> str:
        return self._entries[key].username

    def first_keys(self, limit: int) -> list[str]:
        """Up to ``limit`` account keys, without walking the rest."""
        return list(itertools.islice(self._entries, limit))

    def put_record(self, record: TokenRecord) -> AccountEntry:
        """A fresh record (sign-in, load, refresh): clears any tombstone and error state."""
        key = record.normalised_username
        entry = self._entries.get(key)
        if entry is None:
            entry = AccountEntry(username=record.username, record=record)
            self._entries[key] = entry
        self._unindex_email(key, entry.record)
        entry.username = record.username
        entry.record = record
        entry.last_error = None
        entry.retry_not_before = None
        entry.failures = 0
        entry.unsaved = False
        entry.misconfigured = None
        entry.last_expiry = None
        self._tombstones.discard(key)
        if record.email:
            with contextlib.suppress(ValueError):
                self._emails[normalise_username(record.email)] = key
        return entry

    def tombstone(self, key: str, username: str, reason: str, *, last_expiry: datetime | None = None) -> AccountEntry:
        entry = self._entries.get(key) or AccountEntry(username=username, record=None)
        self._unindex_email(key, entry.record)
        entry.last_expiry = (
            entry.record.access_expires_at if entry.record is not None else (last_expiry or entry.last_expiry)
        )
        entry.record = None
        entry.unsaved = False
        entry.misconfigured = None
        entry.last_error = reason
        entry.retry_not_before = None
        entry.failures = 0
        self._entries[key] = entry
        self._tombstones.add(key)
        return entry

    def remove(self, key: str) -> AccountEntry | None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._unindex_email(key, entry.record)
        self._tombstones.discard(key)
        return entry

    def _unindex_email(self, key: str, record: TokenRecord | None) -> None:
        if record is not None and record.email:
            with contextlib.suppress(ValueError):
                email_key = normalise_username(record.email)
                if self._emails.get(email_key) == key:
                    del self._emails[email_key]

    def items(self) -> list[tuple[str, AccountEntry]]:
        """(key, entry) pairs, unsorted: the cheap walk for start-up and the due scan."""
        return list(self._entries.items())

    def entries(self) -> list[AccountEntry]:
        return sorted(self._entries.values(), key=lambda e: normalise_username(e.username))

    def names(self) -> list[str]:
        return [e.username for e in self.entries()]

    def counts(self) -> tuple[int, int]:
        """(accounts with tokens, accounts needing sign-in), in O(1)."""
        needing = len(self._tombstones)
        return len(self._entries) - needing, needing
