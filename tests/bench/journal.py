"""Row: what making the refresh journal durable against power loss costs per refresh.

The journal append is on the refresh's critical path (before the answer is used). It is timed
with and without the ``fdatasync`` (macOS: ``F_FULLFSYNC``), on the state dir's filesystem as the
daemon would use it (a temporary directory under ``$HOME``, not /tmp, which may be a tmpfs where a
flush is free and the figure would mean nothing). An information row: the cost is the disk's.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet

from cway_authd.store import TokenRecord
from cway_authd.store.journal import RefreshJournal
from tests.bench.common import Row, p50_p99

APPENDS = 300


class _Keys:
    def __init__(self) -> None:
        self.multifernet = MultiFernet([Fernet(Fernet.generate_key())])


def _record(n: int) -> TokenRecord:
    now = datetime.now(UTC)
    return TokenRecord(
        username=f"user{n:05d}@bench.example",
        access_token="a" * 1200,
        refresh_token="r" * 600,
        access_expires_at=now + timedelta(hours=1),
        created_at=now,
        last_refreshed_at=now,
    )


def _appends(directory: Path, keys: _Keys, *, durable: bool) -> list[float]:
    journal = RefreshJournal(directory, keys, durable=durable)
    samples: list[float] = []
    try:
        for n in range(APPENDS):
            record = _record(n)
            started = time.perf_counter()
            journal.append(record)
            samples.append(time.perf_counter() - started)
            journal.settled()
    finally:
        journal.clear()
        journal.close()
    return samples


def bench_journal() -> list[Row]:
    base = Path(tempfile.mkdtemp(prefix=".cway-bench-journal-", dir=Path.home()))
    try:
        keys = _Keys()
        plain = _appends(base, keys, durable=False)
        synced = _appends(base, keys, durable=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    flush = "F_FULLFSYNC" if os.uname().sysname == "Darwin" else "fdatasync"
    return [
        Row(
            what=f"refresh journal append (encrypt + one write), {APPENDS} records",
            goal="information: the crash-safety step on every refresh's critical path",
            measured=f"without {flush}: {p50_p99(plain)}; with {flush}: {p50_p99(synced)}",
            floor=f"the {flush} is the disk's own flush latency ({base.parent} filesystem)",
        )
    ]
