"""The OIDC side: discovery, the authorize URL, and (``AUTH_FLOW=direct``) talking to the IdP's token endpoint.

Discovery (``settings.discovery_url``) and the JWKS are cached for an hour on the injected clock;
a failed discovery is not cached, so a daemon started while offline recovers on its own.

In the direct flow the daemon redeems the code itself, validates the ID token (signature via
the JWKS, ``iss``, ``aud``, ``exp``, ``nonce``) with joserfc, and keeps the IdP's access and
(rotating) refresh tokens. Entra's multi-tenant issuer is a template
(``https://login.microsoftonline.com/{tenantid}/v2.0``); it is filled from the token's ``tid``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from cway_auth_core.cway_tokens import FORM_HEADERS
from cway_auth_core.errors import BackendRejected, BackendTransient
from cway_auth_core.grants import TokenGrant, clean_text, parse_token_response
from cway_auth_core.http import host_of, json_object, send
from cway_contract import Clock, Settings

CACHE_TTL = timedelta(hours=1)
ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
ID_TOKEN_LEEWAY_SECONDS = 120


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str | None
    revocation_endpoint: str | None
    signing_algorithms: tuple[str, ...]


class OidcClient:
    def __init__(self, settings: Settings, http: httpx.AsyncClient, clock: Clock) -> None:
        self._settings = settings
        self._http = http
        self._clock = clock
        self._metadata: tuple[datetime, ProviderMetadata] | None = None
        self._jwks: tuple[datetime, KeySet] | None = None
        self._lock = asyncio.Lock()

    @property
    def scope(self) -> str:
        """The configured scopes; the direct flow adds ``offline_access``.

        Every OIDC provider (Entra v2 included) issues a refresh token only for ``offline_access``,
        and the direct flow refreshes at the IdP. Which resource the access token is for comes from
        the other scopes: in the direct flow that must be Cway's API scope, e.g.
        ``api://<cway app id>/user_impersonation`` (``load_settings`` refuses Graph-only scopes).
        With ``CWAY_EXCHANGE_TOKEN=access_token|id_token`` and the silent re-exchange on, the daemon
        keeps Entra's refresh token too, so ``offline_access`` is added as well, and ``access_token``
        makes sure ``User.Read`` is there (the token Cway checks at Graph ``/me``).
        The same scope string is sent at ``/authorize``, at the code redemption and at each refresh.
        """
        scopes = list(self._settings.azure_scopes)
        keeps_idp_tokens = self._settings.auth_flow == "direct" or self._settings.silent_reexchange
        if keeps_idp_tokens and "offline_access" not in scopes:
            scopes.append("offline_access")
        if self._settings.cway_exchange_token == "access_token" and not any(s.lower() == "user.read" for s in scopes):
            scopes.append("User.Read")  # Cway asks Graph /me with the token: it must be a Graph token
        return " ".join(scopes)

    # ---- discovery -------------------------------------------------------------------------

    async def metadata(self) -> ProviderMetadata:
        cached = self._metadata
        if cached is not None and self._clock.now() - cached[0] < CACHE_TTL:
            return cached[1]
        async with self._lock:  # one discovery request however many callers are waiting
            cached = self._metadata
            if cached is not None and self._clock.now() - cached[0] < CACHE_TTL:
                return cached[1]
            meta = await self._discover()
            self._metadata = (self._clock.now(), meta)
            return meta

    async def _discover(self) -> ProviderMetadata:
        url = self._settings.discovery_url
        what = "the identity provider's discovery document"
        response = await send(self._http, "GET", url, what=what)
        if response.status_code == 429 or response.status_code >= 500:
            raise BackendTransient(f"{what} at {host_of(url)} answered {response.status_code}")
        data = json_object(response)
        if not response.is_success or data is None:
            raise BackendRejected(f"{what} at {host_of(url)} answered {response.status_code} without JSON")

        def field(name: str, required: bool) -> str | None:
            value = data.get(name)
            if isinstance(value, str) and value:
                return value
            if required:
                raise BackendRejected(f"{what} at {host_of(url)} has no {name}")
            return None

        algs = data.get("id_token_signing_alg_values_supported")
        supported = tuple(a for a in algs if isinstance(a, str)) if isinstance(algs, list) else ()
        return ProviderMetadata(
            issuer=field("issuer", True) or "",
            authorization_endpoint=field("authorization_endpoint", True) or "",
            token_endpoint=field("token_endpoint", True) or "",
            jwks_uri=field("jwks_uri", False),
            revocation_endpoint=field("revocation_endpoint", False),
            signing_algorithms=supported,
        )

    # ---- authorize ---------------------------------------------------------------------------

    async def authorization_url(self, *, state: str, nonce: str, code_challenge: str, login_hint: str | None) -> str:
        meta = await self.metadata()
        params = {
            "client_id": self._settings.azure_client_id or "",
            "response_type": "code",
            "redirect_uri": self._settings.redirect.uri,
            "response_mode": "query",
            "scope": self.scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
            "prompt": "select_account",
        }
        if login_hint:
            params["login_hint"] = login_hint
        parts = urlsplit(meta.authorization_endpoint)
        query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))

    # ---- direct flow: token endpoint -----------------------------------------------------------

    def _client_form(self) -> dict[str, str]:
        form = {"client_id": self._settings.azure_client_id or ""}
        if self._settings.azure_client_secret is not None:
            form["client_secret"] = self._settings.azure_client_secret.get_secret_value()
        return form

    async def redeem_code(self, *, code: str, code_verifier: str, redirect_uri: str) -> TokenGrant:
        meta = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
            "scope": self.scope,
            **self._client_form(),
        }
        return await self._token_request(meta.token_endpoint, form, "the identity provider's token endpoint")

    async def refresh(self, refresh_token: str) -> TokenGrant:
        meta = await self.metadata()
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "scope": self.scope,
            **self._client_form(),
        }
        return await self._token_request(meta.token_endpoint, form, "the identity provider's token endpoint (refresh)")

    async def _token_request(self, url: str, form: dict[str, str], what: str) -> TokenGrant:
        sent_at = self._clock.now()
        response = await send(self._http, "POST", url, what=what, data=form, headers=FORM_HEADERS)
        return parse_token_response(response, sent_at=sent_at, what=what)

    async def revoke(self, refresh_token: str) -> bool | None:
        """RFC 7009 revocation of ``refresh_token``; None when the IdP advertises no endpoint."""
        try:
            meta = await self.metadata()
        except (BackendTransient, BackendRejected):
            return False
        if not meta.revocation_endpoint:
            return None
        form = {"token": refresh_token, "token_type_hint": "refresh_token", **self._client_form()}
        try:
            response = await send(
                self._http,
                "POST",
                meta.revocation_endpoint,
                what="the revocation endpoint",
                data=form,
                headers=FORM_HEADERS,
            )
        except BackendTransient:
            return False
        return response.is_success

    # ---- ID token --------------------------------------------------------------------------

    async def _keyset(self, *, fresh: bool) -> KeySet:
        cached = self._jwks
        if not fresh and cached is not None and self._clock.now() - cached[0] < CACHE_TTL:
            return cached[1]
        meta = await self.metadata()
        if not meta.jwks_uri:
            raise BackendRejected("the identity provider's discovery document has no jwks_uri")
        response = await send(self._http, "GET", meta.jwks_uri, what="the identity provider's signing keys")
        data = json_object(response)
        if response.status_code == 429 or response.status_code >= 500:
            raise BackendTransient(f"the identity provider's signing keys answered {response.status_code}")
        if not response.is_success or data is None or not isinstance(data.get("keys"), list):
            raise BackendRejected("the identity provider's signing keys are not a JWK set")
        try:
            keyset = KeySet.import_key_set(data)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError):
            raise BackendRejected("the identity provider's signing keys could not be read") from None
        self._jwks = (self._clock.now(), keyset)
        return keyset

    async def validate_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """Verify signature, iss, aud, exp and nonce; return the claims. Raises ``BackendRejected``."""
        meta = await self.metadata()
        allowed = [a for a in (meta.signing_algorithms or ID_TOKEN_ALGORITHMS) if a in ID_TOKEN_ALGORITHMS]
        try:
            token = jwt.decode(id_token, await self._keyset(fresh=False), algorithms=allowed)
        except JoseError:
            try:  # the IdP may have rotated its keys since we cached them
                token = jwt.decode(id_token, await self._keyset(fresh=True), algorithms=allowed)
            except JoseError as exc:
                raise BackendRejected(f"the ID token's signature is not valid ({type(exc).__name__})") from None
        except (ValueError, TypeError):
            raise BackendRejected("the ID token is malformed") from None
        claims = dict(token.claims)
        tid = claims.get("tid")
        issuer = meta.issuer.replace("{tenantid}", tid) if isinstance(tid, str) else meta.issuer
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self._clock.now().timestamp()),
            leeway=ID_TOKEN_LEEWAY_SECONDS,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": self._settings.azure_client_id or ""},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            reason = clean_text(getattr(exc, "description", "") or type(exc).__name__, 120)
            raise BackendRejected(f"the ID token was rejected: {reason}") from None
        return claims
