"""The 100 000-user scenario of ``make bench-scale`` at 2 000 users: the same code, the same checks.

Two spawned replicas on one PostgreSQL database, every user a real Cway user of the emulator
with real tokens stored in the replicas' Fernet format; ``users / 60`` of them fall due over half a
minute (the bench: one) while the replicas run. Read back from the database afterwards: every one was refreshed
before its access token expired, and both replicas claimed some (``SKIP LOCKED`` shares them out).
Speed is reported by the bench, not asserted here.
"""

from __future__ import annotations

import pytest

from tests.bench.scale import run_scale
from tests.helpers.postgres import find_pg_bin

pytestmark = pytest.mark.slow


@pytest.mark.skipif(find_pg_bin() is None, reason="no PostgreSQL server binaries")
def test_every_refresh_due_in_the_minute_is_done_before_expiry_and_both_replicas_claim() -> None:
    result = run_scale(2000, window=30.0)
    assert result["count"] == 2000 + 1  # the seeded users and the one signed in through the browser
    claims = result["claims"]
    assert isinstance(claims, list) and min(claims) > 0, claims
    assert result["in_time"] == result["slice"] == 2000 // 60
    assert sum(claims) >= result["slice"]
    assert result["failed"] == 0
