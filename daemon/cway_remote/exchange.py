"""The daemon's sign-in code path, used by the remote server: Entra authorize URL, code → Cway tokens.

Nothing here re-implements an exchange: the flow is the daemon's :class:`SignInFlow` (state,
nonce, PKCE verifier), the authorize URL comes from its :class:`OidcClient`, the code becomes Cway
tokens through its :class:`CwaySession` (``AUTH_FLOW=cway`` with every ``CWAY_EXCHANGE_TOKEN`` shape,
or ``direct``), refreshes (and the silent re-exchange through Entra) go through the same session,
and the identity is Cway's ``loginInfo`` — exactly what ``cway-auth`` does, with the server's public
callback as the redirect URI.
"""

from __future__ import annotations

import httpx

from cway_auth_core import (
    AdminProblems,
    CwaySession,
    CwayTokenClient,
    OidcClient,
    SignInFlow,
    TokenGrant,
    TokenRecord,
    new_sign_in_flow,
    redeem_code,
)
from cway_contract import Clock, Settings


class CwayExchange:
    def __init__(self, settings: Settings, http: httpx.AsyncClient, clock: Clock) -> None:
        self._settings = settings
        self._http = http
        self._clock = clock
        self.oidc = OidcClient(settings, http, clock)
        self.cway = CwayTokenClient(settings, http, clock)
        self.problems = AdminProblems()  # configuration errors, logged once each (as the daemon does)
        self.session = CwaySession(
            settings=settings, clock=clock, oidc=self.oidc, cway=self.cway, problems=self.problems
        )

    def new_flow(self) -> SignInFlow:
        """Fresh state, nonce and PKCE verifier (no registry keeps it: the database does)."""
        return new_sign_in_flow(self._clock)

    def restore_flow(self, *, state: str, nonce: str, code_verifier: str) -> SignInFlow:
        """The flow again, from the state, nonce and verifier the database kept."""
        return new_sign_in_flow(self._clock, state=state, nonce=nonce, code_verifier=code_verifier)

    async def authorization_url(self, flow: SignInFlow) -> str:
        return await self.oidc.authorization_url(
            state=flow.state, nonce=flow.nonce, code_challenge=flow.code_challenge, login_hint=None
        )

    async def sign_in(self, flow: SignInFlow, code: str) -> TokenRecord:
        """Code → Cway tokens (the daemon's :class:`CwaySession`: every ``CWAY_EXCHANGE_TOKEN`` shape)
        → identity confirmed by Cway → the record to store, as ``SignInService`` builds it."""
        return await redeem_code(self.session, self._http, self._settings, self._clock, flow, code)

    async def refresh(self, record: TokenRecord) -> TokenGrant:
        """The daemon's refresher: Cway's refresh token, or the silent re-exchange through Entra."""
        return await self.session.refresh(record)
