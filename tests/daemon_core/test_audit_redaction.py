"""One redaction rule for both audits: a token-, code- or verifier-looking field never reaches a line.

The daemon's audit file (``AuditLog``) and the remote server's JSON lines on stderr (``JsonAudit``)
are fed the same secret-named fields, each holding a distinct secret value; neither output may
contain any of the values, each such field must be there as the refusal marker, and the allow-listed
(non-secret) names must pass through unchanged in both.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cway_auth_core import audit_redaction
from cway_authd.audit import AuditLog
from cway_contract.clock import ManualClock
from cway_remote.audit import JsonAudit

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]

SECRET_NAMED = [
    "access_token",
    "refresh_token",
    "id_token",
    "Access_Token",
    "code",
    "authorization_code",
    "code_verifier",
    "verifier",
    "state",
    "oauth_state",
    "sign_in_state",
    "nonce",
    "client_secret",
    "password",
    "fernet_key",
    "token",
]
ALLOWED = {
    "token_fingerprint": "sha256:0123456789ab",
    "token_type": "Bearer",
    "flow_id": "f-1",
    "account_key": "k" * 12,
}


def _fields() -> dict[str, str]:
    return {name: f"SECRET-{i}-eyJhbGciOi" for i, name in enumerate(SECRET_NAMED)}


def _daemon_line(tmp_path: Path, fields: dict[str, str]) -> str:
    audit = AuditLog(tmp_path / "state", ManualClock(NOW))
    audit.event("probe", account="alice", **fields)
    audit.close()
    return audit.path.read_text()


def _remote_line(caplog: pytest.LogCaptureFixture, fields: dict[str, str]) -> str:
    with caplog.at_level(logging.INFO, logger="cway_remote.audit"):
        JsonAudit(ManualClock(NOW), "replica-1").event("probe", account="alice", **fields)
    return "\n".join(r.getMessage() for r in caplog.records if r.name == "cway_remote.audit")


@pytest.mark.parametrize("audit", ["daemon", "remote"])
def test_no_secret_named_field_survives_either_audit(
    audit: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fields = {**_fields(), **ALLOWED}
    text = _daemon_line(tmp_path, fields) if audit == "daemon" else _remote_line(caplog, fields)
    assert "SECRET-" not in text
    (line,) = [json.loads(x) for x in text.splitlines()]
    for name in SECRET_NAMED:
        assert line[name] == audit_redaction.REFUSED, name
    for name, value in ALLOWED.items():
        assert line[name] == value, name
    assert line["account"] == "alice"


def test_every_allowed_name_is_written_by_one_of_the_audits() -> None:
    """The allow-list is the union of what is written: an entry nobody writes is a hole, not a help."""
    sources = "\n".join(
        p.read_text()
        for d in ("cway_authd", "cway_remote")
        for p in (ROOT / "daemon" / d).rglob("*.py")
        if p.name != "audit_redaction.py"
    )
    for name in audit_redaction.ALLOWED_FIELDS:
        assert f"{name}=" in sources, name
