"""Test helpers for the token-store tests (records with recognisable secrets, a fake keyring)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import keyring.errors
from keyring.backend import KeyringBackend

from cway_authd.store import TokenRecord

START = datetime(2026, 1, 1, tzinfo=UTC)


class FakeKeyring(KeyringBackend):
    """An in-memory keyring that looks like a real, secure backend (priority 1)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[tuple[str, str], str] = {}
        self.fail_get = False
        self.fail_set = False
        self.set_calls = 0

    def get_password(self, service: str, username: str) -> str | None:
        if self.fail_get:
            raise keyring.errors.KeyringLocked("locked")
        return self.data.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.set_calls += 1
        if self.fail_set:
            raise keyring.errors.PasswordSetError("cannot store")
        self.data[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.data.pop((service, username), None)


def make_record(username: str = "Alice@Example.com", **overrides: Any) -> TokenRecord:
    tag = username.strip().casefold().replace("@", "-at-")
    fields: dict[str, Any] = {
        "username": username,
        "access_token": f"ACCESS-SECRET-{tag}-eyJhbGciOi",
        "refresh_token": f"REFRESH-SECRET-{tag}-def50200",
        "token_type": "Bearer",
        "access_expires_at": START + timedelta(hours=1),
        "refresh_expires_at": START + timedelta(hours=40),
        "tenant": "tenant-1",
        "display_name": "Alice Example",
        "email": f"{tag}@mail.example",
        "organisation_id": "org-1",
        "organisation_name": "Example Org",
        "created_at": START,
        "last_refreshed_at": None,
    }
    fields.update(overrides)
    return TokenRecord(**fields)
