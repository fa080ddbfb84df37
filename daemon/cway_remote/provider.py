"""The server as its own OAuth 2.1 authorization server, in front of Entra (the "OAuth proxy").

Implements the mcp SDK's ``OAuthAuthorizationServerProvider``; the SDK's routes do the HTTP
(metadata, ``/register``, ``/authorize``, ``/token``, ``/revoke``) and its bearer middleware
guards ``/mcp``. What this class decides:

* ``/authorize`` parks the request (client, redirect URI, PKCE challenge, state, resource) in the
  database and sends the browser to :mod:`cway_remote.consent`: Entra sign-in, then the consent
  page unless the user approved exactly this before, so a client registered by someone else cannot
  ride on a remembered Entra sign-in (the confused-deputy problem of proxies with a static
  upstream client).
* The ``resource`` a client asks for must be this server's MCP URL (RFC 8707); tokens carry it
  as their audience and the middleware refuses tokens for any other (``validate_token_resource``).
* Tokens are opaque, random and stored hashed; the subject is the account key (a hash of the
  Cway username), never a Cway or Entra token: MCP clients never see those (no passthrough).
* Refresh tokens rotate; presenting a used one again revokes its whole family (reuse detection).
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

import httpx
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    IdentityAssertionParams,
    RefreshToken,
    RegistrationError,
    TokenError,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from cway_contract import Clock
from cway_remote.audit import AuditSink
from cway_remote.cimd import CimdError, cache_entry, fetch_client, from_cache, is_metadata_url
from cway_remote.oauth_db import OAuthDb, TokenRow, digest
from cway_remote.pg_store import PgTokenStore
from cway_remote.read_cache import ReadCache
from cway_remote.settings import RemoteSettings

log = logging.getLogger(__name__)

SCOPE = "cway"
#: Needed on top of SCOPE by every tool that changes Cway data (step-up: see step_up.py).
WRITE_SCOPE = "cway.write"
#: What any client may ask for; what it gets by default is SCOPE alone (read).
SCOPES = (SCOPE, WRITE_SCOPE)
PENDING_LIFETIME = timedelta(minutes=10)
CODE_LIFETIME = timedelta(minutes=5)
REFRESH_LIFETIME = timedelta(days=30)


class CwayOAuthProvider:
    """``OAuthAuthorizationServerProvider[AuthorizationCode, RefreshToken, AccessToken]`` on PostgreSQL."""

    def __init__(
        self,
        *,
        settings: RemoteSettings,
        db: OAuthDb,
        store: PgTokenStore,
        clock: Clock,
        audit: AuditSink,
        http: httpx.AsyncClient | None = None,
        cache: ReadCache[object] | None = None,
    ) -> None:
        #: access-token rows by ``"t:" + token hash`` while the change listener runs (read_cache.py)
        self._cache = cache
        self._http = http
        self._settings = settings
        self._db = db
        self._store = store
        self._clock = clock
        self._audit = audit
        self.access_lifetime = timedelta(seconds=settings.access_token_seconds)

    # -- clients ---------------------------------------------------------------------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        """The client, or None when unknown or denied: the SDK's handlers then answer as for an unknown
        client (``invalid_client`` at ``/token`` and ``/revoke``, ``400`` without redirect at
        ``/authorize``). The deny list is read first, in the same query as the stored record, so a
        denied metadata-document URL is neither fetched nor served from the cache."""
        info, denied = await self._db.client_state(client_id)
        if denied:
            self._audit.event("client_denied", client_id=client_id[:300])
            return None
        if is_metadata_url(client_id):
            return _any_scope(await self._metadata_client(client_id, info))
        return _any_scope(OAuthClientInformationFull.model_validate(info) if info is not None else None)

    async def _metadata_client(self, url: str, cached: dict[str, Any] | None) -> OAuthClientInformationFull | None:
        """A client identified by its metadata document (CIMD): cached, else fetched (see :mod:`cimd`)."""
        now = self._clock.now()
        if cached is not None and (info := from_cache(cached, now)) is not None:
            return info
        if self._http is None:
            return None
        try:
            info = await fetch_client(self._http, url, allow_private=self._settings.is_loopback, scope=" ".join(SCOPES))
        except CimdError as exc:
            log.info("client metadata document refused: %s", exc)
            self._audit.event("client_metadata_refused", client_id=url, reason=str(exc))
            return None
        if not await self._db.save_client(url, cache_entry(info, now), now):  # denied while it was fetched
            self._audit.event("client_denied", client_id=url[:300])
            return None
        self._audit.event("client_metadata_fetched", client_id=url, client_name=info.client_name)
        return info

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        assert client_info.client_id is not None
        if not await self._db.save_client(
            client_info.client_id, client_info.model_dump(mode="json"), self._clock.now()
        ):  # the SDK mints a random id, so only a denied id that was chosen could get here
            self._audit.event("client_denied", client_id=client_info.client_id[:300])
            raise RegistrationError("invalid_client_metadata", "this client id is blocked by the administrator")
        self._audit.event(
            "client_registered",
            client_id=client_info.client_id,
            client_name=client_info.client_name,
            redirect_uris=[str(u) for u in client_info.redirect_uris or []],
        )

    # -- authorization -----------------------------------------------------------------------------

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        if params.resource is not None and params.resource.rstrip("/") != self._settings.resource_url:
            raise AuthorizeError("invalid_target", "this authorization server issues tokens for its own MCP URL only")
        handle = secrets.token_urlsafe(32)
        payload: dict[str, Any] = {
            "client_id": client.client_id,
            "redirect_uri": str(params.redirect_uri),
            "redirect_uri_provided_explicitly": params.redirect_uri_provided_explicitly,
            "code_challenge": params.code_challenge,
            "state": params.state,
            "scopes": params.scopes or [SCOPE],
            "resource": self._settings.resource_url,
            "csrf": secrets.token_urlsafe(24),
        }
        await self._db.add_pending(handle, payload, self._clock.now() + PENDING_LIFETIME)
        return f"{self._settings.public_url}/consent?request={handle}"

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        assert client.client_id is not None
        found = await self._db.code(authorization_code, client.client_id, self._clock.now())
        if found is None:
            return None
        subject, payload, expires_at = found
        return AuthorizationCode(
            code=authorization_code,
            scopes=payload["scopes"],
            expires_at=expires_at.timestamp(),
            client_id=client.client_id,
            code_challenge=payload["code_challenge"],
            redirect_uri=payload["redirect_uri"],
            redirect_uri_provided_explicitly=payload["redirect_uri_provided_explicitly"],
            resource=payload["resource"],
            subject=subject,
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        assert client.client_id is not None and authorization_code.subject is not None
        if not await self._db.take_code(authorization_code.code, client.client_id):
            raise TokenError("invalid_grant", "authorization code already used")
        return await self._issue(
            client.client_id,
            authorization_code.subject,
            authorization_code.scopes,
            authorization_code.resource,
            family=secrets.token_urlsafe(16),
        )

    # -- refresh -------------------------------------------------------------------------------------

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> RefreshToken | None:
        row = await self._db.token(refresh_token)
        if row is None or row.kind != "refresh" or row.client_id != client.client_id:
            return None
        if row.used_at is not None:
            revoked = await self._db.revoke_family(row.family)
            log.warning("a used refresh token was presented again: revoked its %d sibling token(s)", revoked)
            self._audit.event("token_reuse_detected", client_id=row.client_id, account_key=row.subject[:12])
            return None
        if row.expires_at <= self._clock.now():
            return None
        return RefreshToken(
            token=refresh_token,
            client_id=row.client_id,
            scopes=row.scopes,
            expires_at=int(row.expires_at.timestamp()),
            resource=row.resource,
            subject=row.subject,
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        assert client.client_id is not None and refresh_token.subject is not None
        if await self._store.load_key(refresh_token.subject) is None:
            await self._db.revoke_subject(refresh_token.subject)
            raise TokenError("invalid_grant", "the Cway session has ended; sign in again")
        row = await self._db.token(refresh_token.token)
        if row is None:
            raise TokenError("invalid_grant", "refresh token revoked")
        return await self._issue(
            client.client_id,
            refresh_token.subject,
            scopes or refresh_token.scopes,
            refresh_token.resource,
            family=row.family,
            rotating=refresh_token.token,
        )

    async def _issue(
        self,
        client_id: str,
        subject: str,
        scopes: list[str],
        resource: str | None,
        *,
        family: str,
        rotating: str | None = None,
    ) -> OAuthToken:
        pair = await self._db.issue(
            client_id=client_id,
            subject=subject,
            scopes=scopes,
            resource=resource,
            family=family,
            now=self._clock.now(),
            access_lifetime=self.access_lifetime,
            refresh_lifetime=REFRESH_LIFETIME,
            rotating=rotating,
        )
        if pair is None:
            raise TokenError("invalid_grant", "the grant was used already or revoked; sign in again")
        self._audit.event(
            "token_issued", client_id=client_id, account_key=subject[:12], grant="refresh" if rotating else "code"
        )
        return OAuthToken(
            access_token=pair.access_token,
            token_type="Bearer",
            expires_in=int(self.access_lifetime.total_seconds()),
            scope=" ".join(scopes),
            refresh_token=pair.refresh_token,
        )

    async def exchange_identity_assertion(
        self, client: OAuthClientInformationFull, params: IdentityAssertionParams
    ) -> OAuthToken:
        """SEP-990 (enterprise ID-JAG) is not offered: every user signs in through Entra and consent."""
        raise TokenError("unsupported_grant_type", "the JWT bearer grant is not supported")

    # -- access tokens and revocation ------------------------------------------------------------------

    async def load_access_token(self, token: str) -> AccessToken | None:
        row = await self._access_row(token)
        if row is None or row.kind != "access" or row.expires_at <= self._clock.now():
            return None
        return AccessToken(
            token=token,
            client_id=row.client_id,
            scopes=row.scopes,
            expires_at=int(row.expires_at.timestamp()),
            resource=row.resource,
            subject=row.subject,
            claims={"iss": self._settings.public_url},
        )

    async def _access_row(self, token: str) -> TokenRow | None:
        cache = self._cache
        if cache is None:
            return await self._db.token(token)
        key = "t:" + digest(token)
        cached = cache.get(key)
        if isinstance(cached, TokenRow):
            return cached
        generation = cache.generation
        row = await self._db.token(token)
        if row is not None and row.kind == "access":
            cache.put(key, row, generation)
        return row

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        row = await self._db.token(token.token)
        if row is not None:
            await self._db.revoke_family(row.family)
            self._audit.event("token_revoked", client_id=row.client_id, account_key=row.subject[:12])

    async def revoke_account(self, subject: str) -> None:
        """Every token of one account (its Cway session ended): its clients must sign in again."""
        count = await self._db.revoke_subject(subject)
        self._audit.event("tokens_revoked", account_key=subject[:12], count=count, reason="cway_session_ended")


def _any_scope(client: OAuthClientInformationFull | None) -> OAuthClientInformationFull | None:
    """Every client may ask for every scope of this server, whatever it registered with: a client
    that registered (or was cached) with the read scope must be able to step up to write; what it
    gets is still what the person approves on the consent page."""
    return client.model_copy(update={"scope": " ".join(SCOPES)}) if client is not None else None
