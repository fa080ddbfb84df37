"""The audit file (one write a line, size-rotated, 0600) and the account book's O(1) look-ups."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cway_authd.accounts import AccountBook
from cway_authd.audit import AuditFile, AuditLog
from cway_authd.store import TokenRecord
from cway_contract.clock import ManualClock

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def record(username: str, email: str | None = None, token: str = "at-1") -> TokenRecord:
    return TokenRecord(
        username=username,
        access_token=token,
        refresh_token="rt-1",
        access_expires_at=NOW + timedelta(hours=1),
        email=email,
        created_at=NOW,
    )


def test_audit_lines_are_json_and_secret_looking_fields_are_refused(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "state", ManualClock(NOW))
    audit.event("token_issued", account="alice", token_fingerprint="sha256:ab", refresh_token="rt-secret")
    audit.event("logout", account="alice", revoked=None)
    audit.close()
    lines = [json.loads(line) for line in audit.path.read_text().splitlines()]
    assert lines[0] == {
        "ts": NOW.isoformat(),
        "event": "token_issued",
        "account": "alice",
        "token_fingerprint": "sha256:ab",
        "refresh_token": "<refused: looks secret>",
    }
    assert lines[1] == {"ts": NOW.isoformat(), "event": "logout", "account": "alice"}
    assert stat.S_IMODE(audit.path.stat().st_mode) == 0o600


def test_audit_file_rotates_by_size_and_keeps_a_bounded_history(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    path.write_bytes(b"old\n")  # a file from an earlier run: its size counts
    audit = AuditFile(path, max_bytes=100, backups=2)
    lines = [f'{{"n":{i:03d},"pad":"{"x" * 30}"}}\n'.encode() for i in range(12)]
    for line in lines:
        audit.write(line)
    audit.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["audit.log", "audit.log.1", "audit.log.2"]
    for name in files:
        assert (tmp_path / name).stat().st_size <= 100
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    kept = b"".join((tmp_path / name).read_bytes() for name in ("audit.log.2", "audit.log.1", "audit.log"))
    assert kept.endswith(b"".join(lines[-4:]))  # the newest lines, in order, nothing torn
    assert kept.count(b"\n") == len(kept.splitlines())


def test_an_account_is_found_by_its_email_until_it_is_gone() -> None:
    book = AccountBook()
    book.put_record(record("Alice@Contoso.example", email="a.person@contoso.example"))
    book.put_record(record("bob@contoso.example"))
    assert book.key_for_email("a.person@contoso.example") == "alice@contoso.example"
    assert book.counts() == (2, 0) and len(book) == 2
    book.put_record(record("alice@contoso.example", email="alice.new@contoso.example", token="at-2"))
    assert book.key_for_email("a.person@contoso.example") is None
    assert book.key_for_email("alice.new@contoso.example") == "alice@contoso.example"
    book.tombstone("alice@contoso.example", "alice@contoso.example", "invalid_grant")
    assert book.key_for_email("alice.new@contoso.example") is None
    assert book.counts() == (1, 1)
    book.remove("alice@contoso.example")
    book.remove("bob@contoso.example")
    assert book.counts() == (0, 0) and len(book) == 0 and book.first_keys(5) == []
