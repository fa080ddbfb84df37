"""The daemon's in-memory view of its accounts: the current record, or a tombstone.

The store is the durable copy; this book is what the token API reads on its lock-free fast
path. An account whose refresh token died keeps a *tombstone* here (username and the reason,
no tokens) so ``list_accounts`` can still say "needs sign-in" after the record was deleted.
Tombstones are memory-only: after a restart the account is simply not signed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cway_common.contract import AccountInfo, AccountState

from .store import TokenRecord, normalise_username


@dataclass(repr=False)
class AccountEntry:
    username: str
    record: TokenRecord | None
    last_error: str | None = None
    refreshing: bool = False
    retry_not_before: datetime | None = None
    failures: int = 0
    unsaved: bool = False  # refreshed, but the store write failed: must be saved before use

    @property
    def state(self) -> AccountState:
        if self.record is None:
            return "needs_sign_in"
        return "refreshing" if self.refreshing else "ok"

    def __repr__(self) -> str:
        return f"AccountEntry(username={self.username!r}, state={self.state!r})"

    def info(self) -> AccountInfo:
        rec = self.record
        return AccountInfo(
            username=self.username,
            state=self.state,
            display_name=rec.display_name if rec else None,
            email=rec.email if rec else None,
            tenant=rec.tenant if rec else None,
            organisation_id=rec.organisation_id if rec else None,
            organisation_name=rec.organisation_name if rec else None,
            access_expires_at=rec.access_expires_at if rec else None,
            refresh_expires_at=rec.refresh_expires_at if rec else None,
            last_refreshed_at=rec.last_refreshed_at if rec else None,
            last_error=self.last_error,
        )


class AccountBook:
    """Entries keyed by normalised username."""

    def __init__(self) -> None:
        self._entries: dict[str, AccountEntry] = {}

    @staticmethod
    def key(username: str) -> str:
        return normalise_username(username)

    def get(self, key: str) -> AccountEntry | None:
        return self._entries.get(key)

    def put_record(self, record: TokenRecord) -> AccountEntry:
        """A fresh record (sign-in, load, refresh): clears any tombstone and error state."""
        key = record.normalised_username
        entry = self._entries.get(key)
        if entry is None:
            entry = AccountEntry(username=record.username, record=record)
            self._entries[key] = entry
        entry.username = record.username
        entry.record = record
        entry.last_error = None
        entry.retry_not_before = None
        entry.failures = 0
        entry.unsaved = False
        return entry

    def tombstone(self, key: str, username: str, reason: str) -> AccountEntry:
        entry = self._entries.get(key) or AccountEntry(username=username, record=None)
        entry.record = None
        entry.unsaved = False
        entry.last_error = reason
        entry.retry_not_before = None
        entry.failures = 0
        self._entries[key] = entry
        return entry

    def remove(self, key: str) -> AccountEntry | None:
        return self._entries.pop(key, None)

    def entries(self) -> list[AccountEntry]:
        return sorted(self._entries.values(), key=lambda e: normalise_username(e.username))

    def names(self) -> list[str]:
        return [e.username for e in self.entries()]

    def counts(self) -> tuple[int, int]:
        """(accounts with tokens, accounts needing sign-in)."""
        entries = self._entries.values()
        return sum(e.record is not None for e in entries), sum(e.record is None for e in entries)
