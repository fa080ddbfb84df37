"""Getting Cway tokens for a sign-in, and renewing them: the exchange shapes and the silent re-exchange.

``CWAY_EXCHANGE_TOKEN`` (see :mod:`cway_auth_core.cway_tokens`) decides what the sign-in sends Cway:
the Entra code as it is (``code``), or - after the daemon redeemed the code at Entra itself as a
public client with PKCE - the Graph access token (``access_token``) or the ID token (``id_token``).

In the last two shapes the daemon also holds the Entra refresh token (``CWAY_SILENT_REEXCHANGE``,
on by default). Cway's own refresh token lives about 40 h; when Cway refuses it (``invalid_grant``,
or its known expiry has passed), the daemon redeems the Entra refresh token and exchanges the new
Entra token at Cway again: no browser for as long as Entra allows (its 90-day inactivity window,
Conditional Access sign-in frequency). Only when Entra refuses too (``interaction_required`` …) does
the account need a sign-in.

Every configuration error on the way (``BackendMisconfigured``) is recorded once in
:class:`~cway_auth_core.entra_errors.AdminProblems` (logged when new, shown by ``cway-auth doctor``); a
success clears it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from cway_auth_core.cway_tokens import CwayTokenClient
from cway_auth_core.entra_errors import AdminProblems
from cway_auth_core.errors import BackendFatal, BackendMisconfigured, BackendRejected
from cway_auth_core.grants import TokenGrant
from cway_auth_core.oidc import OidcClient
from cway_auth_core.records import TokenRecord
from cway_auth_core.sign_in_flow import SignInFlow
from cway_contract import Clock, Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Entra refresh tokens of public clients expire after 90 days without use (sliding).
ENTRA_REFRESH_INACTIVITY = timedelta(days=90)


@dataclass(frozen=True)
class SignInGrant:
    """What a sign-in yields: Cway's tokens, the tenant, and the Entra refresh token to keep (if any)."""

    cway: TokenGrant
    tenant: str | None
    idp_refresh_token: str | None
    idp_refreshed_at: datetime | None


def renewable_until(record: TokenRecord) -> datetime | None:
    """Until when a browser-free renewal is possible, as far as the daemon can know."""
    if record.idp_refresh_token:
        issued = record.idp_refreshed_at or record.created_at
        return issued + ENTRA_REFRESH_INACTIVITY
    return record.refresh_expires_at


class CwaySession:
    """The sign-in exchange and the engine's refresher, for ``AUTH_FLOW=cway`` and ``direct``."""

    def __init__(
        self,
        *,
        settings: Settings,
        clock: Clock,
        oidc: OidcClient,
        cway: CwayTokenClient,
        problems: AdminProblems,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._oidc = oidc
        self._cway = cway
        self.problems = problems

    @property
    def shape(self) -> str:
        return self._settings.cway_exchange_token

    # ---- sign-in -------------------------------------------------------------------------------

    async def sign_in(self, flow: SignInFlow, code: str) -> SignInGrant:
        """Code → Cway's tokens (``AUTH_FLOW=cway``), or the IdP's own (``direct``)."""
        return await self._reported(self._sign_in(flow, code))

    async def _sign_in(self, flow: SignInFlow, code: str) -> SignInGrant:
        redirect_uri = self._settings.redirect.uri
        tenant = self._settings.azure_tenant_id
        if self._settings.auth_flow == "cway" and self.shape == "code":
            grant = await self._cway.exchange_code(
                code=code, state=flow.state, code_verifier=flow.code_verifier, redirect_uri=redirect_uri
            )
            return SignInGrant(grant, tenant, None, None)
        now = self._clock.now()
        idp = await self._oidc.redeem_code(code=code, code_verifier=flow.code_verifier, redirect_uri=redirect_uri)
        if not idp.id_token:
            raise BackendRejected("the identity provider issued no ID token (is 'openid' in AZURE_SCOPES?)")
        claims = await self._oidc.validate_id_token(idp.id_token, nonce=flow.nonce)
        tid = claims.get("tid")
        tenant = tid if isinstance(tid, str) and tid else tenant
        if self._settings.auth_flow == "direct":
            return SignInGrant(idp, tenant, None, None)
        grant = await self._cway.exchange_token(token=self._entra_token(idp), shape=self.shape, state=flow.state)
        keep = idp.refresh_token if self._settings.silent_reexchange else None
        return SignInGrant(grant, tenant, keep, now if keep else None)

    def _entra_token(self, idp: TokenGrant) -> str:
        if self.shape == "id_token":
            if not idp.id_token:
                raise BackendRejected("the identity provider issued no ID token to send to Cway")
            return idp.id_token
        return idp.access_token

    # ---- refresh (the engine's refresher) -----------------------------------------------------

    async def refresh(self, record: TokenRecord) -> TokenGrant:
        return await self._reported(self._refresh(record))

    async def _refresh(self, record: TokenRecord) -> TokenGrant:
        if self._settings.auth_flow == "direct":
            return await self._oidc.refresh(record.refresh_token)
        reexchange = self._settings.silent_reexchange and bool(record.idp_refresh_token)
        now = self._clock.now()
        cway_dead = record.refresh_expires_at is not None and record.refresh_expires_at <= now
        if not (reexchange and cway_dead):
            try:
                return await self._cway.refresh(record.refresh_token)
            except BackendFatal as exc:
                if not reexchange:
                    raise
                log.info("Cway refused %s's refresh token (%s); exchanging again silently", record.username, exc)
        return await self._reexchange(record)

    async def _reexchange(self, record: TokenRecord) -> TokenGrant:
        """Entra refresh token → new Entra tokens → Cway's tokens, keeping the rotated Entra refresh token."""
        sent_at = self._clock.now()
        idp = await self._oidc.refresh(record.idp_refresh_token or "")
        grant = await self._cway.exchange_token(token=self._entra_token(idp), shape=self.shape)
        return TokenGrant(
            access_token=grant.access_token,
            refresh_token=grant.refresh_token,
            token_type=grant.token_type,
            access_expires_at=grant.access_expires_at,
            refresh_expires_at=grant.refresh_expires_at,
            # Entra issues a new refresh token and does not revoke the old one: keep the newest.
            idp_refresh_token=idp.refresh_token or record.idp_refresh_token,
            idp_refreshed_at=sent_at if idp.refresh_token else record.idp_refreshed_at,
        )

    # ---- reporting -----------------------------------------------------------------------------

    async def _reported(self, call: Awaitable[T]) -> T:
        try:
            result = await call
        except BackendMisconfigured as exc:
            if self.problems.record(exc.code, str(exc), self._clock.now()):
                log.error("configuration error (ask your administrator): %s", exc)
            raise
        self.problems.clear()
        return result
