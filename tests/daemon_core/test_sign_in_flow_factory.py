"""``new_sign_in_flow``: the one way to build a sign-in flow, fresh or from kept secrets (the remote server)."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

from cway_auth_core.sign_in_flow import FLOW_LIFETIME, FlowRegistry, new_sign_in_flow
from cway_contract.clock import ManualClock

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_a_fresh_flow_has_its_own_secrets_and_lifetime() -> None:
    clock = ManualClock(NOW)
    one, two = new_sign_in_flow(clock), new_sign_in_flow(clock)
    assert len({one.state, two.state, one.nonce, two.nonce}) == 4
    assert one.code_verifier != two.code_verifier and 43 <= len(one.code_verifier) <= 128
    assert one.created_at == NOW and one.expires_at == NOW + FLOW_LIFETIME
    registered = FlowRegistry(clock, lifetime=timedelta(minutes=3)).new_flow("Alice", "alice")
    assert registered.expires_at == NOW + timedelta(minutes=3)
    assert (registered.requested_username, registered.requested_key) == ("Alice", "alice")


def test_a_restored_flow_carries_the_kept_secrets_and_their_challenge() -> None:
    verifier = "v" * 64
    flow = new_sign_in_flow(ManualClock(NOW), state="kept-state", nonce="kept-nonce", code_verifier=verifier)
    assert (flow.state, flow.nonce, flow.code_verifier) == ("kept-state", "kept-nonce", verifier)
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert flow.code_challenge == expected
    assert "kept" not in repr(flow) and verifier not in repr(flow)
