"""The daemon's sign-in code path, used by the remote server: Entra authorize URL, code → Cway tokens.

Nothing here re-implements an exchange: the flow is the daemon's :class:`SignInFlow` (state,
nonce, PKCE verifier), the authorize URL comes from its :class:`OidcClient`, the code goes to
Cway through its :class:`CwayTokenClient` (``AUTH_FLOW=cway``) or is redeemed at the IdP with
the ID token validated (``AUTH_FLOW=direct``), and the identity is Cway's ``loginInfo`` — exactly
what ``cway-auth`` does, with the server's public callback as the redirect URI.
"""

from __future__ import annotations

import httpx

from cway_authd.cway_tokens import CwayTokenClient
from cway_authd.errors import BackendRejected
from cway_authd.grants import TokenGrant
from cway_authd.identity import fetch_identity
from cway_authd.oidc import OidcClient
from cway_authd.sign_in import FlowRegistry, SignInFlow
from cway_authd.store import TokenRecord
from cway_common.clock import Clock
from cway_common.config import Settings


class CwayExchange:
    def __init__(self, settings: Settings, http: httpx.AsyncClient, clock: Clock) -> None:
        self._settings = settings
        self._http = http
        self._clock = clock
        self.oidc = OidcClient(settings, http, clock)
        self.cway = CwayTokenClient(settings, http, clock)
        self._flows = FlowRegistry(clock)

    def new_flow(self) -> SignInFlow:
        """Fresh state, nonce and PKCE verifier (the registry is not used to keep it: the database is)."""
        return self._flows.new_flow(None, None)

    def restore_flow(self, *, state: str, nonce: str, code_verifier: str) -> SignInFlow:
        flow = self.new_flow()
        flow.state, flow.nonce, flow.code_verifier = state, nonce, code_verifier
        return flow

    async def authorization_url(self, flow: SignInFlow) -> str:
        return await self.oidc.authorization_url(
            state=flow.state, nonce=flow.nonce, code_challenge=flow.code_challenge, login_hint=None
        )

    async def sign_in(self, flow: SignInFlow, code: str) -> TokenRecord:
        """Code → Cway tokens → identity confirmed by Cway → the record to store (the daemon's path)."""
        now = self._clock.now()
        redirect_uri = self._settings.redirect.uri
        tenant = self._settings.azure_tenant_id
        grant: TokenGrant
        if self._settings.auth_flow == "cway":
            grant = await self.cway.exchange_code(
                code=code, state=flow.state, code_verifier=flow.code_verifier, redirect_uri=redirect_uri
            )
        else:
            grant = await self.oidc.redeem_code(code=code, code_verifier=flow.code_verifier, redirect_uri=redirect_uri)
            if not grant.id_token:
                raise BackendRejected("the identity provider issued no ID token (is 'openid' in AZURE_SCOPES?)")
            claims = await self.oidc.validate_id_token(grant.id_token, nonce=flow.nonce)
            tid = claims.get("tid")
            tenant = tid if isinstance(tid, str) and tid else tenant
        if not grant.refresh_token:
            raise BackendRejected("no refresh token was issued, so the session could not be kept alive")
        identity = await fetch_identity(self._http, self._settings.cway_api_url, grant.access_token)
        return TokenRecord(
            username=identity.username,
            access_token=grant.access_token,
            refresh_token=grant.refresh_token,
            token_type=grant.token_type,
            access_expires_at=grant.access_expires_at,
            refresh_expires_at=grant.refresh_expires_at,
            tenant=tenant,
            display_name=identity.display_name,
            email=identity.email,
            organisation_id=identity.organisation_id,
            organisation_name=identity.organisation_name,
            created_at=now,
        )

    async def refresh(self, record: TokenRecord) -> TokenGrant:
        if self._settings.auth_flow == "direct":
            return await self.oidc.refresh(record.refresh_token)
        return await self.cway.refresh(record.refresh_token)
