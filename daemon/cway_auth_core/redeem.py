"""A sign-in's authorization code, redeemed: Cway tokens and the identity Cway confirms, as one record.

The daemon's sign-ins (cway_authd.sign_in.service) and the remote server's (cway_remote.exchange)
both end here, so an account signed in on either is the same record.
"""

from __future__ import annotations

import httpx

from cway_auth_core.cway_session import CwaySession
from cway_auth_core.errors import BackendRejected
from cway_auth_core.identity import fetch_identity
from cway_auth_core.records import TokenRecord
from cway_auth_core.sign_in_flow import SignInFlow
from cway_contract import Clock, Settings


async def redeem_code(
    session: CwaySession, http: httpx.AsyncClient, settings: Settings, clock: Clock, flow: SignInFlow, code: str
) -> TokenRecord:
    """Code → Cway tokens (every ``CWAY_EXCHANGE_TOKEN`` shape, or ``direct``) → identity confirmed by
    Cway's ``loginInfo`` → the record to store. The daemon's sign-ins and the remote server's both use it."""
    now = clock.now()
    result = await session.sign_in(flow, code)
    grant = result.cway
    if not grant.refresh_token:
        raise BackendRejected("no refresh token was issued, so the session could not be kept alive")
    identity = await fetch_identity(http, settings.cway_api_url, grant.access_token)
    return TokenRecord(
        username=identity.username,
        access_token=grant.access_token,
        refresh_token=grant.refresh_token,
        token_type=grant.token_type,
        access_expires_at=grant.access_expires_at,
        refresh_expires_at=grant.refresh_expires_at,
        tenant=result.tenant,
        display_name=identity.display_name,
        email=identity.email,
        organisation_id=identity.organisation_id,
        organisation_name=identity.organisation_name,
        created_at=now,
        idp_refresh_token=result.idp_refresh_token,
        idp_refreshed_at=result.idp_refreshed_at,
    )
