"""TokenRecord, username normalisation and file naming."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from cway_auth_core.records import RecordFormatError, is_record_file_name
from cway_authd.store import SCHEMA_VERSION, TokenRecord, normalise_username, record_file_name

from .helpers import START, make_record


def test_normalise_username_trims_and_casefolds() -> None:
    assert normalise_username("  Alice@X ") == "alice@x"
    assert normalise_username("STRASSE@x") == normalise_username("straße@x")


@pytest.mark.parametrize("bad", ["", "   ", "\t\n"])
def test_normalise_username_rejects_empty(bad: str) -> None:
    with pytest.raises(ValueError):
        normalise_username(bad)


def test_file_name_is_hash_of_normalised_name() -> None:
    expected = hashlib.sha256(b"alice@x").hexdigest() + ".token"
    assert record_file_name("Alice@X ") == expected
    assert record_file_name("alice@x") == expected
    assert "alice" not in expected
    assert is_record_file_name(expected)
    assert not is_record_file_name("." + expected + ".tmp-abc")
    assert not is_record_file_name(expected + ".corrupt-20260101T000000Z")


def test_repr_and_str_mask_tokens() -> None:
    record = make_record()
    for text in (repr(record), str(record), f"{record}", repr([record])):
        assert record.access_token not in text
        assert record.refresh_token not in text
        assert "Alice@Example.com" in text


def test_json_round_trip_keeps_display_casing_and_utc() -> None:
    record = make_record(username="Alice@Example.com", last_refreshed_at=START + timedelta(minutes=5))
    again = TokenRecord.from_json_bytes(record.to_json_bytes())
    assert again == record
    assert again.username == "Alice@Example.com"
    assert again.access_expires_at.tzinfo is not None
    assert again.schema_version == SCHEMA_VERSION


def test_non_utc_aware_datetimes_are_converted_and_naive_rejected() -> None:
    cet = timezone(timedelta(hours=1))
    record = make_record(access_expires_at=datetime(2026, 1, 1, 13, 0, tzinfo=cet))
    assert record.access_expires_at.utcoffset() == timedelta(0)
    assert record.access_expires_at.hour == 12
    with pytest.raises(ValueError):
        make_record(access_expires_at=datetime(2026, 1, 1, 12, 0))


def test_refresh_expiry_may_be_unknown() -> None:
    record = make_record(refresh_expires_at=None)
    assert TokenRecord.from_json_bytes(record.to_json_bytes()).refresh_expires_at is None


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d.update(schema_version=2), "newer_schema_version"),  # a newer release's: not corrupt
        (lambda d: d.update(schema_version=0), "unknown_schema_version"),
        (lambda d: d.pop("schema_version"), "unknown_schema_version"),
        (lambda d: d.pop("access_token"), "invalid_record"),
        (lambda d: d.update(access_expires_at="yesterday"), "invalid_record"),
        (lambda d: d.update(access_expires_at="2026-01-01T00:00:00"), "invalid_record"),
        (lambda d: d.update(surprise=1), "invalid_record"),
    ],
)
def test_invalid_json_records_are_rejected_without_echoing_content(
    mutate: Callable[[dict[str, Any]], object], reason: str
) -> None:
    record = make_record()
    data = json.loads(record.to_json_bytes())
    mutate(data)
    with pytest.raises(RecordFormatError) as info:
        TokenRecord.from_json_bytes(json.dumps(data).encode())
    assert info.value.reason == reason
    assert record.access_token not in str(info.value)
    assert record.refresh_token not in str(info.value)


def test_constructing_unknown_schema_version_fails() -> None:
    with pytest.raises(ValueError):
        make_record(schema_version=2)


def test_not_json_is_rejected() -> None:
    with pytest.raises(RecordFormatError) as info:
        TokenRecord.from_json_bytes(b"\xff\x00 not json")
    assert info.value.reason == "invalid_json"
