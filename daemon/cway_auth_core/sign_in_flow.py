"""Pending sign-in flows: created by ``start``, consumed exactly once by a callback or a paste.

Flows live in memory only (a daemon restart simply means "start again"), and not without end: one
pending flow per account, at most :data:`MAX_PENDING_FLOWS` in all (the oldest is dropped first, as
``expired`` with a message saying why), and at most :data:`MAX_KEPT_FLOWS` remembered, finished
ones included, so a client that starts sign-ins in a loop costs a bounded amount. Each holds the PKCE
verifier, the ``state`` and the ``nonce``; none of these ever leaves the daemon except ``state``
and ``nonce`` inside the authorization URL, which is the point of them.

Looking a flow up by ``state``: the incoming value is compared with *every* known flow's state
using ``hmac.compare_digest``, without stopping at the first match. The number of flows is
tiny, and this keeps the comparison time independent of how many leading characters of a
guessed state are right (a plain dict lookup would compare strings with an early exit).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from cway_contract import Clock, SignInState, SignInStatus

FLOW_LIFETIME = timedelta(minutes=10)
FINISHED_RETENTION = timedelta(minutes=30)
#: Flows waiting for a browser at once. A person signs in to a handful of accounts; a client that starts
#: sign-ins in a loop (thousands of names) must not make the daemon hold thousands of verifiers.
MAX_PENDING_FLOWS = 64
#: Flows remembered in all (pending, and finished ones kept for a CLI still polling their status).
MAX_KEPT_FLOWS = 256


@dataclass(repr=False)
class SignInFlow:
    flow_id: str
    state: str
    nonce: str
    code_verifier: str
    requested_username: str | None
    requested_key: str | None
    created_at: datetime
    expires_at: datetime
    authorization_url: str = ""
    #: The short link on the callback listener that redirects to ``authorization_url`` (no personal data).
    link_url: str = ""
    status: SignInState = "pending"
    consumed: bool = False
    username: str | None = None
    identity_mismatch: bool = False
    message: str | None = None
    finished_at: datetime | None = None

    @property
    def code_challenge(self) -> str:
        """RFC 7636 §4.2 S256: BASE64URL(SHA256(verifier)), without padding."""
        digest = hashlib.sha256(self.code_verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def __repr__(self) -> str:
        return f"SignInFlow(flow_id={self.flow_id!r}, status={self.status!r}, requested={self.requested_username!r})"

    def to_status(self) -> SignInStatus:
        return SignInStatus(
            flow_id=self.flow_id,
            state=self.status,
            authorization_url=self.authorization_url if self.status == "pending" else None,
            sign_in_url=self.link_url or None if self.status == "pending" else None,
            requested_username=self.requested_username,
            username=self.username,
            identity_mismatch=self.identity_mismatch,
            message=self.message,
            expires_at=self.expires_at,
        )


def new_sign_in_flow(
    clock: Clock,
    *,
    requested_username: str | None = None,
    requested_key: str | None = None,
    lifetime: timedelta = FLOW_LIFETIME,
    state: str | None = None,
    nonce: str | None = None,
    code_verifier: str | None = None,
) -> SignInFlow:
    """A flow starting now, with fresh ``state``, ``nonce`` and PKCE verifier unless given.

    Given ones are for a flow kept elsewhere between the redirect and the callback (the remote server
    keeps them in its database): it rebuilds the flow from them here rather than overwriting a fresh
    flow's secrets from outside."""
    now = clock.now()
    return SignInFlow(
        flow_id=secrets.token_urlsafe(12),
        state=state if state is not None else secrets.token_urlsafe(32),
        nonce=nonce if nonce is not None else secrets.token_urlsafe(32),
        # RFC 7636: 43..128 unreserved characters (here 64)
        code_verifier=code_verifier if code_verifier is not None else secrets.token_urlsafe(48),
        requested_username=requested_username,
        requested_key=requested_key,
        created_at=now,
        expires_at=now + lifetime,
    )


class ClaimFailure(Enum):
    MISSING = "The sign-in response has no state parameter. Start the sign-in again."
    UNKNOWN = "This sign-in is not known to the daemon (it may have been restarted). Start the sign-in again."
    USED = "This sign-in link has already been used. Start the sign-in again."
    EXPIRED = "This sign-in took longer than 10 minutes and has expired. Start the sign-in again."


REPLACED_SAME_ACCOUNT = "A newer sign-in for the same account replaced this one. Use the newer link."
REPLACED_TOO_MANY = (
    f"Too many sign-ins were started at once (at most {MAX_PENDING_FLOWS} wait for a browser); this one, "
    "the oldest, was dropped. Start the sign-in again."
)


@dataclass
class FlowRegistry:
    """In-memory flows keyed by flow id; all time comes from the injected clock."""

    clock: Clock
    lifetime: timedelta = FLOW_LIFETIME
    _flows: dict[str, SignInFlow] = field(default_factory=dict)

    def new_flow(self, requested_username: str | None, requested_key: str | None) -> SignInFlow:
        return new_sign_in_flow(
            self.clock, requested_username=requested_username, requested_key=requested_key, lifetime=self.lifetime
        )

    def add(self, flow: SignInFlow) -> None:
        """Register ``flow``, within the caps: one pending flow per account, :data:`MAX_PENDING_FLOWS` in all.

        Over a cap the oldest pending flow (the first to expire: every flow lives as long) ends as
        ``expired`` with a message saying why, and its verifier is dropped. A flow whose code is being
        redeemed (claimed) is never cut short. Finished flows past :data:`MAX_KEPT_FLOWS` are forgotten,
        oldest first.
        """
        self.prune()
        waiting = [f for f in self._flows.values() if f.status == "pending" and not f.consumed]
        for other in waiting:
            if other.requested_key == flow.requested_key:  # start() reuses it; never two for one account
                self.finish(other, "expired", REPLACED_SAME_ACCOUNT)
        waiting = [f for f in waiting if f.status == "pending"]
        waiting.sort(key=lambda f: f.expires_at)
        for oldest in waiting[: max(0, len(waiting) - MAX_PENDING_FLOWS + 1)]:
            self.finish(oldest, "expired", REPLACED_TOO_MANY)
        self._flows[flow.flow_id] = flow
        if len(self._flows) > MAX_KEPT_FLOWS:
            finished = sorted(
                (f for f in self._flows.values() if f.finished_at is not None),
                key=lambda f: f.finished_at or f.created_at,
            )
            for gone in finished[: len(self._flows) - MAX_KEPT_FLOWS]:
                del self._flows[gone.flow_id]

    def _refresh_expiry(self, flow: SignInFlow, now: datetime) -> None:
        if flow.status == "pending" and not flow.consumed and now >= flow.expires_at:
            flow.status = "expired"
            flow.message = ClaimFailure.EXPIRED.value
            flow.finished_at = now

    def pending_for(self, requested_key: str | None) -> SignInFlow | None:
        """The open flow for this account (or for "no account given"), if there is one."""
        now = self.clock.now()
        for flow in self._flows.values():
            self._refresh_expiry(flow, now)
            if flow.status == "pending" and not flow.consumed and flow.requested_key == requested_key:
                return flow
        return None

    def get(self, flow_id: str) -> SignInFlow | None:
        flow = self._flows.get(flow_id)
        if flow is not None:
            self._refresh_expiry(flow, self.clock.now())
        return flow

    def claim(self, state: str | None) -> tuple[SignInFlow | None, ClaimFailure | None]:
        """Find the flow for ``state`` and mark it consumed (single use)."""
        if not state:
            return None, ClaimFailure.MISSING
        candidate = state.encode("utf-8", errors="replace")
        found: SignInFlow | None = None
        for flow in self._flows.values():
            if hmac.compare_digest(flow.state.encode("ascii"), candidate):
                found = flow
        if found is None:
            return None, ClaimFailure.UNKNOWN
        self._refresh_expiry(found, self.clock.now())
        if found.status == "expired":
            return found, ClaimFailure.EXPIRED
        if found.consumed or found.status != "pending":
            return found, ClaimFailure.USED
        found.consumed = True
        return found, None

    def finish(
        self,
        flow: SignInFlow,
        status: SignInState,
        message: str,
        *,
        username: str | None = None,
        identity_mismatch: bool = False,
    ) -> None:
        flow.status = status
        flow.consumed = True
        flow.message = message
        flow.username = username
        flow.identity_mismatch = identity_mismatch
        flow.finished_at = self.clock.now()
        # The secrets are useless now; drop them so a memory dump holds less.
        flow.code_verifier = ""
        flow.nonce = ""

    def cancel_for(self, requested_key: str) -> int:
        """Fail every open flow for this account (logout); returns how many."""
        cancelled = 0
        for flow in self._flows.values():
            if flow.status == "pending" and flow.requested_key == requested_key:
                self.finish(flow, "failed", "Cancelled because the account was signed out.")
                cancelled += 1
        return cancelled

    def pending_count(self) -> int:
        now = self.clock.now()
        count = 0
        for flow in self._flows.values():
            self._refresh_expiry(flow, now)
            count += flow.status == "pending"
        return count

    def prune(self) -> None:
        """Forget finished flows after a while (their status is only useful to a waiting CLI)."""
        now = self.clock.now()
        for flow_id, flow in list(self._flows.items()):
            self._refresh_expiry(flow, now)
            if flow.finished_at is not None and now - flow.finished_at > FINISHED_RETENTION:
                del self._flows[flow_id]
