"""The Cway backend's token rules, without HTTP.

Cway access tokens are HS256 JWTs signed with a per-instance secret; the backend also keeps a
registry of the ids (``jti``) it issued, so tokens from an earlier ``reset()`` or another
emulator instance are "unknown" even when they look well-formed. Refresh tokens are opaque and
rotate: each one works exactly once. Static API tokens (the backward-compatible mode) are
looked up in the knobs; a revocation (password reset at the IdP) does not touch them, because
they are API keys, but disabling the user in Cway does.

Like a Cway whose API is registered in Entra (``AUTH_FLOW=direct``), the GraphQL endpoint also
accepts an access token the IdP issued *for the Cway API*: RS256 by the IdP's key, ``iss`` the
IdP's issuer, ``aud`` the Cway app, unexpired, for a usable Cway user (``preferred_username``),
and not revoked since. A Microsoft Graph token is refused. The ``cway_accepts_idp_tokens`` knob
turns this off.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from joserfc.jwk import OctKey

from cway_contract import Clock
from cway_emulator.fixtures import Record
from cway_emulator.jwt_keys import TokenInvalid, epoch, new_hs256_key, sign_hs256, unverified_header, verify
from cway_emulator.knobs import Knobs
from cway_emulator.store import DataStore

if TYPE_CHECKING:
    from cway_emulator.idp_core import IdpCore


class CwayTokenError(Exception):
    """An /oauth/token failure: ``error`` code, description and HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description}


class Unauthorized(Exception):
    """A bearer token the GraphQL endpoint does not accept (reason is for logs, not clients)."""


@dataclass
class _Access:
    username: str
    generation: int


@dataclass
class _Refresh:
    username: str
    generation: int
    expires: datetime
    redeemed: bool = False


@dataclass
class CwayCore:
    base_url: str
    knobs: Knobs
    store: DataStore
    clock: Clock
    #: The IdP whose access tokens for ``api_client_id`` (Cway's app registration) are accepted.
    idp: IdpCore | None = None
    api_client_id: str | None = None
    key: OctKey = field(default_factory=new_hs256_key)
    access: dict[str, _Access] = field(default_factory=dict)
    refresh: dict[str, _Refresh] = field(default_factory=dict)

    def reset(self) -> None:
        with self.store.lock:
            self.access.clear()
            self.refresh.clear()

    def usable_user(self, username: str) -> Record | None:
        user = self.store.cway_user(username)
        if user is None or not user["enabled"] or username.lower() in self.knobs.disabled_users:
            return None
        return user

    def issue(self, user: Record) -> dict[str, Any]:
        now = self.clock.now()
        jti = str(uuid.uuid4())
        username = str(user["username"])
        generation = self.store.generation(username)
        access_lifetime = self.knobs.cway_access_lifetime
        refresh_lifetime = self.knobs.cway_refresh_lifetime
        claims = {
            "iss": self.base_url,
            "sub": username,
            "name": user["name"],
            "email": user["email"],
            "org": user["_orgs"][0],
            "iat": epoch(now),
            "exp": epoch(now) + access_lifetime,
            "jti": jti,
        }
        refresh = "cway_rt." + secrets.token_urlsafe(48)
        with self.store.lock:
            self.access[jti] = _Access(username, generation)
            self.refresh[refresh] = _Refresh(username, generation, now + timedelta(seconds=refresh_lifetime))
        body: dict[str, Any] = {
            "access_token": sign_hs256(self.key, claims),
            "token_type": "Bearer",
            "expires_in": access_lifetime,
            "refresh_token": refresh,
        }
        if self.knobs.cway_refresh_expires_in:  # not known to exist in the real Cway's answer
            body["refresh_expires_in"] = refresh_lifetime
        return body

    def redeem_refresh(self, token: str) -> dict[str, Any]:
        now = self.clock.now()
        with self.store.lock:
            grant = self.refresh.get(token)
            if grant is None:
                raise CwayTokenError("invalid_grant", "Invalid refresh token")
            if grant.redeemed:
                raise CwayTokenError("invalid_grant", "Refresh token has already been used")
            if now >= grant.expires:
                raise CwayTokenError("invalid_grant", "Refresh token has expired")
            if self.store.generation(grant.username) != grant.generation:
                raise CwayTokenError("invalid_grant", "Refresh token has been revoked")
            user = self.usable_user(grant.username)
            if user is None:
                raise CwayTokenError("invalid_grant", "User is disabled")
            grant.redeemed = True
        return self.issue(user)

    def authenticate(self, token: str) -> Record:
        """The Cway user behind a bearer token (static API token or Cway JWT)."""
        static_owner = self.knobs.static_tokens.get(token)
        if static_owner is not None:
            user = self.usable_user(static_owner)
            if user is None:
                raise Unauthorized("static token of a disabled or unknown user")
            org = self.knobs.static_token_orgs.get(token)
            return {**user, "_current_org": org} if org else user  # a per-organisation token acts there
        if self.idp is not None and unverified_header(token).get("alg") == "RS256":
            return self._authenticate_idp_token(token)
        try:
            claims = verify(token, self.key, "HS256")
        except TokenInvalid as exc:
            raise Unauthorized(f"bad token: {exc}") from exc
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp <= epoch(self.clock.now()):
            raise Unauthorized("expired")
        grant = self.access.get(str(claims.get("jti")))
        if grant is None or grant.username != claims.get("sub"):
            raise Unauthorized("unknown token id")
        if self.store.generation(grant.username) != grant.generation:
            raise Unauthorized("revoked")
        user = self.usable_user(grant.username)
        if user is None:
            raise Unauthorized("disabled user")
        return user

    def _authenticate_idp_token(self, token: str) -> Record:
        if not self.knobs.cway_accepts_idp_tokens:
            raise Unauthorized("identity-provider tokens are not accepted (cway_accepts_idp_tokens is off)")
        if self.idp is None or self.api_client_id is None:  # pragma: no cover - checked by the caller
            raise Unauthorized("no identity provider configured")
        try:
            _directory_user, claims = self.idp.user_for_api_token(token, self.api_client_id)
        except TokenInvalid as exc:
            raise Unauthorized(f"identity-provider token: {exc}") from exc
        username = str(claims.get("preferred_username") or claims.get("upn") or claims.get("email") or "")
        user = self.usable_user(username)
        if user is None:
            raise Unauthorized("identity-provider token of a disabled or unknown Cway user")
        return user

    def new_static_token(self, username: str, organisation: str | None = None) -> str:
        """A static API token; ``organisation`` (an id the user belongs to) makes it act in that one."""
        user = self.store.cway_user(username)
        if user is None:
            raise KeyError(f"{username} is not a Cway user")
        if organisation is not None and organisation.lower() not in user["_orgs"]:
            raise KeyError(f"{username} is not a member of organisation {organisation}")
        token = "cway-static-" + secrets.token_urlsafe(24)
        self.knobs.update({"static_tokens": {token: username.lower()}})
        if organisation is not None:
            self.knobs.update({"static_token_orgs": {token: organisation.lower()}})
        return token
