"""Running a sign-in: the authorize URL, then (callback or paste) code → tokens → confirmed identity → store.

``AUTH_FLOW=cway`` exchanges at Cway's ``grant_type=azure`` (the code itself, or the Entra access or
ID token the daemon redeemed it for: ``CWAY_EXCHANGE_TOKEN``, see :mod:`cway_auth_core.cway_session`);
``AUTH_FLOW=direct`` redeems it at the IdP and validates the ID token. Either way the new access
token is then shown to Cway's ``loginInfo``, and the tokens are stored under the username Cway
confirms, which may differ from the one the user asked for (reported, not refused: the user
did sign in, just as someone else).

Outcomes are written for a person reading a browser tab; they never contain a code, a token,
a state or a verifier.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from cway_auth_core import (
    BackendError,
    ClaimFailure,
    CwaySession,
    ErrorClass,
    FlowRegistry,
    OidcClient,
    SignInFlow,
    aadsts_code,
    admin_hint,
    classify,
    clean_text,
    redeem_code,
)
from cway_authd.audit import AuditLog
from cway_authd.audit_limit import UnauthenticatedEvents
from cway_authd.errors import CoreError
from cway_authd.refresh.engine import RefreshEngine
from cway_authd.sign_in.link import sign_in_link
from cway_authd.store import TokenRecord, normalise_username
from cway_contract import Clock, ErrorCode, Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallbackOutcome:
    """What the callback page shows; ``message`` never contains a secret."""

    ok: bool
    status_code: int
    title: str
    message: str


class SignInService:
    def __init__(
        self,
        *,
        settings: Settings,
        clock: Clock,
        http: httpx.AsyncClient,
        oidc: OidcClient,
        session: CwaySession,
        engine: RefreshEngine,
        audit: AuditLog | None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._http = http
        self._oidc = oidc
        self._session = session
        self._engine = engine
        self._audit = audit
        # A callback without a known state proves nothing about who sent it: anyone on the machine can.
        self._unauthenticated = UnauthenticatedEvents(audit, clock) if audit is not None else None
        self.flows = FlowRegistry(clock)
        self._start_lock = asyncio.Lock()

    async def start(self, username: str | None) -> SignInFlow:
        """A new pending flow, or the one already pending for this account."""
        requested = username.strip() if username and username.strip() else None
        key = normalise_username(requested) if requested else None
        async with self._start_lock:  # two concurrent starts must not make two flows
            existing = self.flows.pending_for(key)
            if existing is not None:
                return existing
            flow = self.flows.new_flow(requested, key)
            try:
                flow.link_url = sign_in_link(self._settings.redirect, flow.flow_id)
                flow.authorization_url = await self._oidc.authorization_url(
                    state=flow.state, nonce=flow.nonce, code_challenge=flow.code_challenge, login_hint=requested
                )
            except BackendError as exc:
                raise CoreError(
                    ErrorCode.BACKEND_UNAVAILABLE, f"cannot start a sign-in: {exc}", status=503, username=requested
                ) from None
            self.flows.add(flow)
        self._event("sign_in_started", flow_id=flow.flow_id, requested=requested, flow=self._settings.auth_flow)
        return flow

    async def complete(
        self, params: Mapping[str, str]
    ) -> tuple[SignInFlow | None, ClaimFailure | None, CallbackOutcome]:
        flow, failure = self.flows.claim(params.get("state"))
        if failure is not None or flow is None:
            reason = failure or ClaimFailure.UNKNOWN
            if flow is None and self._unauthenticated is not None:
                self._unauthenticated.event("sign_in_failed", reason=reason.name.lower())
            else:
                self._event("sign_in_failed", flow_id=flow.flow_id if flow else None, reason=reason.name.lower())
            return flow, reason, CallbackOutcome(False, 400, "Sign-in not completed", reason.value)

        error = params.get("error")
        if error:
            return (
                flow,
                None,
                self._fail(flow, self._idp_refusal(error, params.get("error_description")), 400, "idp_error"),
            )
        code = params.get("code")
        if not code:
            return flow, None, self._fail(flow, "The sign-in response has no authorization code.", 400, "no_code")

        try:
            record = await self._redeem(flow, code)
            if flow.status != "pending":  # signed out (logout cancelled this flow) while the code was redeemed
                message = flow.message or "The sign-in was cancelled."
                self._event("sign_in_failed", flow_id=flow.flow_id, reason="cancelled")
                return flow, None, CallbackOutcome(False, 409, "Sign-in cancelled", message)
            await self._engine.adopt(record)
        except BackendError as exc:
            return flow, None, self._fail(flow, f"Sign-in failed: {exc}.", 502, reason="backend")
        except Exception as exc:  # never echo the text: it could contain anything
            log.error("sign-in %s failed unexpectedly: %s", flow.flow_id, type(exc).__name__)
            return (
                flow,
                None,
                self._fail(flow, f"Sign-in failed: internal error ({type(exc).__name__}).", 500, "internal"),
            )

        requested_key = flow.requested_key
        aliases = {record.normalised_username} | ({normalise_username(record.email)} if record.email else set())
        mismatch = requested_key is not None and requested_key not in aliases
        if mismatch:
            message = (
                f"You asked for {flow.requested_username} but signed in as {record.username}; "
                f"the tokens are stored under {record.username}."
            )
        else:
            message = f"Signed in as {record.username}."
        self.flows.finish(flow, "completed", message, username=record.username, identity_mismatch=mismatch)
        self._event(
            "sign_in_completed",
            flow_id=flow.flow_id,
            account=record.username,
            requested=flow.requested_username,
            identity_mismatch=mismatch,
        )
        return flow, None, CallbackOutcome(True, 200, "Signed in", message)

    def _idp_refusal(self, error: str, raw_description: str | None) -> str:
        """The IdP's error redirect, worded by its class: the administrator's to fix, or sign in again."""
        description = clean_text(raw_description, 300)
        message = f"The identity provider did not sign you in ({clean_text(error, 60)})" + (
            f": {description}" if description else "."
        )
        code = aadsts_code(raw_description or "")
        kind = classify(400, clean_text(error, 60), code)
        if kind is ErrorClass.ADMIN:
            label = f"AADSTS{code}" if code is not None else clean_text(error, 60)
            if self._session.problems.record(label, message, self._clock.now()):
                log.error("sign-in refused for a configuration reason (ask your administrator): %s", label)
            return f"{message.rstrip('.')}. Ask your administrator ({label}: {admin_hint(code)})."
        if code == 65001 or error == "consent_required":
            return f"{message.rstrip('.')}. Consent is needed: sign in again, or ask your administrator to grant it."
        return message

    def _fail(self, flow: SignInFlow, message: str, status: int, reason: str) -> CallbackOutcome:
        self.flows.finish(flow, "failed", message)
        self._event("sign_in_failed", flow_id=flow.flow_id, reason=reason, error=message)
        return CallbackOutcome(False, status, "Sign-in failed", message)

    async def _redeem(self, flow: SignInFlow, code: str) -> TokenRecord:
        return await redeem_code(self._session, self._http, self._settings, self._clock, flow, code)

    def close(self) -> None:
        """Write what the rate limit on unauthenticated events has left out (call before the audit log closes)."""
        if self._unauthenticated is not None:
            self._unauthenticated.flush()

    def _event(self, event: str, **fields: object) -> None:
        if self._audit is not None:
            self._audit.event(event, **fields)
