"""The per-user token record and its on-disk (pre-encryption) JSON form.

Expiry is stored as absolute UTC instants, never as ``expires_in``: a relative lifetime is
meaningless once the record has sat on disk across a restart.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cway_contract import ensure_utc, is_blank_username

SCHEMA_VERSION = 1
RECORD_SUFFIX = ".token"
#: The token store's folder inside the daemon's state dir (the key dir ``keys/`` sits beside it).
TOKENS_DIR_NAME = "tokens"


class RecordFormatError(ValueError):
    """Decrypted bytes are not a valid record. ``reason`` is a short machine-readable code.

    The message never includes the offending content (it may hold tokens).
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


#: ``<64 lowercase hex>.token`` (a regular expression: a per-character check was a tenth of listing 10 000 records).
_RECORD_FILE_NAME = re.compile(r"[0-9a-f]{64}" + re.escape(RECORD_SUFFIX))


def normalise_username(name: str) -> str:
    """The account key: trimmed and casefolded, so "Alice@X " and "alice@x" are one account."""
    if is_blank_username(name):  # the contract's rule (its OpenAPI pattern says the same)
        raise ValueError("username is empty")
    return name.strip().casefold()


def record_file_name(username: str) -> str:
    """File name for an account: a hash, so a directory listing does not reveal who signed in."""
    digest = hashlib.sha256(normalise_username(username).encode("utf-8")).hexdigest()
    return digest + RECORD_SUFFIX


def is_record_file_name(name: str) -> bool:
    """True only for ``<64 hex>.token``; temp files and set-aside files never match."""
    return _RECORD_FILE_NAME.fullmatch(name) is not None


def _mask(secret: str) -> str:
    return f"<{len(secret)} chars>" if secret else "<empty>"


_DATETIME_FIELDS = ("access_expires_at", "refresh_expires_at", "created_at", "last_refreshed_at", "idp_refreshed_at")
#: Fields written only when set, so a record without them reads the same in an older daemon.
_OMITTED_WHEN_UNSET = frozenset({"idp_refresh_token", "idp_refreshed_at"})


@dataclass(frozen=True, kw_only=True, repr=False)
class TokenRecord:
    """One signed-in user's Cway tokens plus the identity they were issued for."""

    username: str
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    access_expires_at: datetime
    refresh_expires_at: datetime | None = None
    tenant: str | None = None
    display_name: str | None = None
    email: str | None = None
    organisation_id: str | None = None
    organisation_name: str | None = None
    created_at: datetime
    last_refreshed_at: datetime | None = None
    #: The Entra refresh token kept for a silent re-exchange (``CWAY_EXCHANGE_TOKEN=access_token|id_token``):
    #: encrypted with the rest of the record, never sent anywhere but Entra's token endpoint.
    idp_refresh_token: str | None = None
    #: When that Entra refresh token was issued (its 90-day inactivity window counts from here).
    idp_refreshed_at: datetime | None = None
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        normalise_username(self.username)  # raises on empty
        if self.schema_version != SCHEMA_VERSION:
            raise ValueError(f"unsupported schema_version {self.schema_version}")
        for name in _DATETIME_FIELDS:
            value = getattr(self, name)
            if value is not None:
                # frozen: normalise via object.__setattr__ so every instance holds UTC.
                object.__setattr__(self, name, ensure_utc(value))

    @property
    def normalised_username(self) -> str:
        return normalise_username(self.username)

    @property
    def file_name(self) -> str:
        return record_file_name(self.username)

    def replace(self, **changes: Any) -> TokenRecord:
        """A copy with some fields changed (e.g. new tokens after a refresh)."""
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:
        return (
            f"TokenRecord(username={self.username!r}, access_token={_mask(self.access_token)}, "
            f"refresh_token={_mask(self.refresh_token)}, token_type={self.token_type!r}, "
            f"access_expires_at={self.access_expires_at.isoformat()}, "
            f"refresh_expires_at={self.refresh_expires_at.isoformat() if self.refresh_expires_at else None}, "
            f"tenant={self.tenant!r}, organisation_id={self.organisation_id!r}, "
            f"idp_refresh_token={_mask(self.idp_refresh_token or '')})"
        )

    __str__ = __repr__

    def to_json_bytes(self) -> bytes:
        data: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None and f.name in _OMITTED_WHEN_UNSET:
                continue
            data[f.name] = value.isoformat() if isinstance(value, datetime) else value
        return json.dumps(data, separators=(",", ":"), sort_keys=True).encode("utf-8")

    @classmethod
    def from_json_bytes(cls, raw: bytes) -> TokenRecord:
        """Parse decrypted bytes; any problem → ``RecordFormatError`` (treated as corrupt)."""
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise RecordFormatError("invalid_json", "record is not valid JSON") from None
        if not isinstance(data, dict):
            raise RecordFormatError("invalid_record", "record is not a JSON object")
        version = data.get("schema_version")
        if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
            # Written by a newer release: not corrupt, and not ours to set aside (store/format.py).
            raise RecordFormatError(
                "newer_schema_version", f"record schema_version {version} is newer than this release"
            )
        if version != SCHEMA_VERSION:
            raise RecordFormatError("unknown_schema_version", f"record schema_version {version!r} is not supported")
        unknown = data.keys() - _record_field_names()
        if unknown:
            raise RecordFormatError("invalid_record", f"record has unknown fields {sorted(unknown)}")
        try:
            kwargs: dict[str, Any] = {}
            for key, value in data.items():
                if key in _DATETIME_FIELDS and value is not None:
                    if not isinstance(value, str):
                        raise TypeError(f"{key} is not a string")
                    value = datetime.fromisoformat(value)
                kwargs[key] = value
            for key in ("username", "access_token", "refresh_token", "token_type"):
                if not isinstance(kwargs.get(key), str):
                    raise TypeError(f"{key} missing or not a string")
            if not isinstance(kwargs.get("idp_refresh_token") or "", str):
                raise TypeError("idp_refresh_token is not a string")
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:
            # Messages from our own checks name fields only, never values.
            reason = str(exc) if isinstance(exc, TypeError) else "a field has an invalid value"
            raise RecordFormatError("invalid_record", f"record is invalid: {reason}") from None


@functools.cache
def _record_field_names() -> frozenset[str]:
    """Computed once: ``dataclasses.fields`` per record was a tenth of decoding 10 000 records at start-up."""
    return frozenset(f.name for f in dataclasses.fields(TokenRecord))
