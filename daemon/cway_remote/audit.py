"""Audit events and structured logs of the remote server: JSON lines on stderr.

A container platform collects stderr, so the server writes no files of its own. The audit
events are the daemon's (``sign_in_completed``, ``refreshed``, ``refresh_failed``, ``logout``…)
plus the OAuth server's (``client_registered``, ``consent``, ``token_issued``, ``token_revoked``),
with the daemon's rule for fields (:mod:`cway_auth_core.audit_redaction`, the one module both use): a field
whose name looks secret is refused, never written.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, Protocol

from cway_auth_core import redact_fields
from cway_contract import Clock


class AuditSink(Protocol):
    def event(self, event: str, **fields: Any) -> None: ...


class JsonAudit:
    """``event()`` as one JSON object per line on the ``cway_remote.audit`` logger."""

    def __init__(self, clock: Clock, replica: str) -> None:
        self._clock = clock
        self._replica = replica
        self._log = logging.getLogger("cway_remote.audit")

    def event(self, event: str, **fields: Any) -> None:
        entry = redact_fields({"ts": self._clock.now().isoformat(), "audit": event, "replica": self._replica}, fields)
        try:
            self._log.info(json.dumps(entry, default=str, separators=(",", ":")))
        except Exception:  # an audit failure must not break token service
            logging.getLogger(__name__).exception("could not write an audit event")


class JsonFormatter(logging.Formatter):
    """Every log record as one JSON object (``ts``, ``level``, ``logger``, ``msg``); audit lines pass through."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name == "cway_remote.audit":
            return record.getMessage()
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__  # the type only: exception text may hold anything
        return json.dumps(entry, separators=(",", ":"))


def configure_json_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for noisy in ("httpx", "httpcore", "uvicorn.access", "mcp.server.streamable_http"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
