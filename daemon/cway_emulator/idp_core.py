"""The Entra-ID-like authorization server's rules, without HTTP.

Faithful where it matters to a client: codes are single-use (AADSTS54005) and short-lived
(AADSTS70008), bound to the client id, redirect URI and PKCE challenge of the authorize
request; every redemption of a refresh token issues a new one, but (as in Entra) the old one
stays valid until its own lifetime ends (the ``idp_refresh_single_use`` knob makes them
single-use); refresh tokens are only issued when ``offline_access`` was requested (as in Entra v2);
loopback redirect URIs match whatever their port (Entra's native-app rule; knob
``idp_redirect_exact_port``); ``entra_faults`` injects any refusal of ``idp_faults.CATALOG``; confidential clients must authenticate,
public clients must *not* present a secret (AADSTS700025).

Cway's "on-behalf" redemption (``AUTH_FLOW=cway``): a code belongs to the client id used at
``/authorize``. Whoever redeems it - the daemon itself or the Cway backend - must present that
same ``client_id``, the ``code_verifier`` and the exact ``redirect_uri``. If that client is
the confidential Cway app, its ``client_secret`` is required as well. No other client can
redeem a code issued to someone else.

Access tokens are for exactly one resource, chosen by the scopes, as in Entra v2: no resource
scope or only Microsoft Graph scopes (``User.Read``, ``https://graph.microsoft.com/...``) give a
Graph token (v1 claims, ``aud`` = Graph); ``api://<app id URI or client id>/<name>`` of an app
that exposes an API (the emulated Cway app: ``api://cway/user_impersonation``) gives a v2 token
with ``aud`` = that app's client id and ``scp`` = the scope names. ``/authorize`` accepts scopes
of several resources (consent), but a token request whose scopes name more than one resource is
refused (AADSTS28000), and so is an unknown resource (AADSTS500011). Tokens for an API are
remembered by ``uti`` so that the API (the Cway emulator) can tell a revoked grant, like Cway's
own tokens.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from cway_contract import Clock
from cway_emulator.fixtures import DEFAULT_USER, Record
from cway_emulator.idp_faults import CATALOG
from cway_emulator.idp_model import (
    PROMPTS,
    AuthRequest,
    Client,
    CodeGrant,
    EntraError,
    PageError,
    RedirectError,
    RefreshGrant,
    missing_param,
    redirect_missing,
    redirect_registered,
    revoked_error,
    s256,
    with_query,
)
from cway_emulator.idp_scopes import ScopeRules
from cway_emulator.idp_tokens import issue_tokens, user_for_access_token, user_for_api_token
from cway_emulator.knobs import Knobs
from cway_emulator.store import DataStore

__all__ = ["AuthRequest", "Client", "EntraError", "IdpCore", "PageError", "RedirectError", "s256", "with_query"]


@dataclass
class IdpCore:
    issuer: str
    tenant: str
    knobs: Knobs
    store: DataStore
    clock: Clock
    clients: dict[str, Client]
    codes: dict[str, CodeGrant] = field(default_factory=dict)
    refresh: dict[str, RefreshGrant] = field(default_factory=dict)
    pending: dict[str, AuthRequest] = field(default_factory=dict)
    #: Access tokens issued for an API other than Graph: ``uti`` -> (upn, generation).
    api_tokens: dict[str, tuple[str, int]] = field(default_factory=dict)
    #: Every tenant this IdP knows: tenant id -> verified domain (the home tenant is ``tenant``).
    tenants: dict[str, str] = field(default_factory=dict)
    #: Users who live in another tenant than the home one: upn -> tenant id.
    user_tenants: dict[str, str] = field(default_factory=dict)

    # --- tenants ------------------------------------------------------------------------
    def tenant_of(self, upn: str) -> str:
        with self.store.lock:
            return self.user_tenants.get(upn.lower(), self.tenant)

    def issuer_for(self, tenant_id: str) -> str:
        """The per-tenant v2 issuer (Entra's ``https://login.microsoftonline.com/{tenantid}/v2.0``)."""
        return self.issuer.replace(f"/{self.tenant}/", f"/{tenant_id}/")

    def resolve_authority(self, segment: str) -> str | None:
        """The tenant id an authority path names; ``organizations``/``common`` -> ``""``; unknown -> None."""
        low = segment.lower()
        if low in ("organizations", "common"):
            return ""
        for tenant_id, domain in self.tenants.items():
            if low in (tenant_id.lower(), domain.lower()):
                return tenant_id
        return None

    def check_multi_tenant(self, authority_tenant: str, page: bool = False) -> None:
        """A single-tenant app on ``organizations``/``common`` is refused (AADSTS50194)."""
        if authority_tenant == "" and not self.knobs.idp_app_multi_tenant:
            cls = PageError if page else EntraError
            raise cls(
                "invalid_request",
                50194,
                "Application is not configured as a multi-tenant application. Usage of the /common endpoint is "
                "not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint "
                "or configure the application to be multi-tenant.",
            )

    @property
    def scopes(self) -> ScopeRules:
        return ScopeRules(self.tenant, self.clients)

    def reset(self) -> None:
        with self.store.lock:
            self.user_tenants.clear()
            self.codes.clear()
            self.refresh.clear()
            self.pending.clear()
            self.api_tokens.clear()

    # --- /authorize ---------------------------------------------------------------------
    def begin_authorize(self, params: Mapping[str, str]) -> AuthRequest:
        """Validate an authorize request; raise PageError/RedirectError like Entra would."""
        client_id = params.get("client_id")
        if not client_id:
            raise missing_param("client_id", page=True)
        client = self.clients.get(client_id)
        if client is None:
            raise PageError(
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory '{self.tenant}'.",
            )
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri:
            raise missing_param("redirect_uri", page=True)
        if not redirect_registered(redirect_uri, client.redirect_uris, exact_port=self.knobs.idp_redirect_exact_port):
            raise PageError(
                "invalid_request",
                50011,
                f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect "
                f"URIs configured for the application '{client_id}'.",
            )
        req = AuthRequest(
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes=params.get("scope", "").split(),
            state=params.get("state"),
            nonce=params.get("nonce"),
            challenge=params.get("code_challenge"),
            login_hint=params.get("login_hint"),
            prompt=params.get("prompt"),
            created=self.clock.now(),
        )
        try:
            self._check_trusted(client, req, params)
        except RedirectError as err:
            err.location = req.error_location(err)
            raise
        return req

    def _check_trusted(self, client: Client, req: AuthRequest, params: Mapping[str, str]) -> None:
        if params.get("response_type") != "code":
            raise RedirectError(
                "unsupported_response_type",
                70005,
                f"response_type '{params.get('response_type', '')}' is not enabled for the application.",
            )
        if params.get("response_mode", "query") != "query":
            raise RedirectError("invalid_request", 900144, "This emulator supports only response_mode=query.")
        if not req.scopes:
            raise RedirectError("invalid_request", 900144, "The request must contain the parameter 'scope'.")
        if params.get("resource"):
            raise RedirectError(
                "invalid_target",
                9010010,
                "The resource parameter provided in the request doesn't match with the requested scopes.",
            )
        for scope in req.scopes:  # several resources are fine here (consent); a token is for one
            try:
                self.scopes.resolve_scope(scope)
            except EntraError as err:
                raise RedirectError(err.error, err.code, err.message) from None
        method = params.get("code_challenge_method")
        if req.challenge is None and method:
            raise redirect_missing("code_challenge")
        if req.challenge is not None:
            if method != "S256":
                raise RedirectError(
                    "invalid_request",
                    5001410,
                    f"code_challenge_method '{method or 'plain'}' is not allowed; use S256.",
                )
            if len(req.challenge) != 43:
                raise RedirectError("invalid_request", 501491, "Invalid size of Code_Challenge parameter.")
        elif not client.confidential:
            raise RedirectError(
                "invalid_request",
                9002325,
                "Proof Key for Code Exchange is required for public clients (code_challenge, S256).",
            )
        if req.prompt is not None and req.prompt not in PROMPTS:
            raise RedirectError("invalid_request", 90023, f"Invalid prompt value '{req.prompt}'.")
        if req.prompt == "none" and not self.knobs.auto_approve:
            raise RedirectError("login_required", 50058, "A silent sign-in request was sent but no user is signed in.")

    def hold(self, req: AuthRequest) -> str:
        """Park a validated request while the sign-in form is shown; returns its handle."""
        txn = secrets.token_urlsafe(16)
        with self.store.lock:
            self.pending[txn] = req
        return txn

    def resume(self, txn: str) -> AuthRequest:
        with self.store.lock:
            req = self.pending.pop(txn, None)
        lifetime = timedelta(seconds=self.knobs.idp_code_lifetime)
        if req is None or self.clock.now() > req.created + lifetime:
            raise PageError("invalid_request", 90014, "The sign-in request is unknown or expired. Start again.")
        return req

    def approve(self, req: AuthRequest, username: str | None) -> str:
        """The user signed in: mint a code and return the redirect Location."""
        user = self.store.directory_user(username or req.login_hint or DEFAULT_USER)
        if user is None:
            return req.error_location(
                RedirectError("access_denied", 50034, "The user account does not exist in the tenant directory.")
            )
        home = self.tenant_of(user["upn"])
        if req.authority_tenant and req.authority_tenant != home:
            return req.error_location(
                RedirectError(
                    "invalid_request",
                    50020,
                    f"User account '{user['upn']}' from identity provider does not exist in tenant "
                    f"'{self.tenants.get(req.authority_tenant, req.authority_tenant)}'.",
                )
            )
        code = "emu_ac." + secrets.token_urlsafe(32)
        grant = CodeGrant(
            request=req,
            upn=user["upn"],
            generation=self.store.generation(user["upn"]),
            expires=self.clock.now() + timedelta(seconds=self.knobs.idp_code_lifetime),
        )
        with self.store.lock:
            self.codes[code] = grant
        return with_query(req.redirect_uri, {"code": code}, req.state)

    # --- /token -------------------------------------------------------------------------
    def token(self, form: Mapping[str, str], basic: tuple[str, str] | None) -> dict[str, Any]:
        grant_type = form.get("grant_type")
        if not grant_type:
            raise missing_param("grant_type")
        self._injected_fault(grant_type, form)
        if grant_type == "authorization_code":
            return self._redeem_code(form, self.authenticate(form, basic))
        if grant_type == "refresh_token":
            return self._redeem_refresh(form, self.authenticate(form, basic))
        raise EntraError(
            "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant_type}'."
        )

    def _injected_fault(self, grant_type: str, form: Mapping[str, str]) -> None:
        """An ``entra_faults`` knob entry for this grant and account: answer as Entra would."""
        with self.store.lock:
            if grant_type == "authorization_code":
                code = self.codes.get(form.get("code", ""))
                account = code.upn if code is not None else None
            else:
                refresh = self.refresh.get(form.get("refresh_token", ""))
                account = refresh.upn if refresh is not None else None
        fault = self.knobs.take_entra_fault(grant_type, account)
        if fault is not None:
            error, status, message = CATALOG[fault.aadsts]
            raise EntraError(error, fault.aadsts, message, status)

    def authenticate(self, form: Mapping[str, str], basic: tuple[str, str] | None) -> Client:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if basic is not None:
            if (client_id and client_id != basic[0]) or secret:
                raise EntraError("invalid_request", 90015, "Conflicting client authentication methods.")
            client_id, secret = basic
        if not client_id:
            raise missing_param("client_id")
        client = self.clients.get(client_id)
        if client is None:
            raise EntraError("unauthorized_client", 700016, f"Application with identifier '{client_id}' was not found.")
        if not client.confidential:
            if secret or form.get("client_assertion"):
                raise EntraError(
                    "invalid_client",
                    700025,
                    "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
                    401,
                )
        elif not secret:
            raise EntraError(
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
                401,
            )
        elif not hmac.compare_digest(secret.encode(), (client.secret or "").encode()):
            raise EntraError("invalid_client", 7000215, "Invalid client secret provided.", 401)
        return client

    def _redeem_code(self, form: Mapping[str, str], client: Client) -> dict[str, Any]:
        code = form.get("code")
        if not code:
            raise missing_param("code")
        now = self.clock.now()
        with self.store.lock:
            grant = self.codes.get(code)
            if grant is None:
                raise EntraError("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
            if grant.redeemed:
                raise EntraError(
                    "invalid_grant",
                    54005,
                    "OAuth2 Authorization code was already redeemed, please retry with a new valid code "
                    "or use an existing refresh token.",
                )
            if now >= grant.expires:
                raise EntraError(
                    "invalid_grant",
                    70008,
                    "The provided authorization code or refresh token has expired due to inactivity. "
                    "Send a new interactive authorization request for this user and resource.",
                )
            req = grant.request
            if req.client_id != client.client_id:
                raise EntraError("invalid_grant", 70000, "The code was issued to a different client.")
            redirect_uri = form.get("redirect_uri")
            if not redirect_uri:
                raise missing_param("redirect_uri")
            if redirect_uri != req.redirect_uri:
                raise EntraError(
                    "invalid_grant",
                    50011,
                    f"The redirect URI '{redirect_uri}' specified in the request does not match the "
                    "redirect URI used when requesting the authorization code.",
                )
            if req.challenge is not None:
                verifier = form.get("code_verifier")
                if not verifier:
                    raise EntraError(
                        "invalid_grant", 50148, "The code_verifier is missing but a code_challenge was supplied."
                    )
                if not hmac.compare_digest(s256(verifier), req.challenge):
                    raise EntraError(
                        "invalid_grant",
                        50148,
                        "The code_verifier does not match the code_challenge supplied in the authorization request.",
                    )
            if self.store.generation(grant.upn) != grant.generation:
                raise revoked_error()
            scopes = self._narrowed(req.scopes, form.get("scope"))
            resource = self.scopes.resource_of(scopes)
            grant.redeemed = True
        return issue_tokens(self, client, grant.upn, scopes, req.nonce, resource, consented=req.scopes)

    @staticmethod
    def _narrowed(granted: list[str], asked: str | None) -> list[str]:
        """A token request may name a subset of the granted scopes (e.g. one resource of several)."""
        if not asked:
            return list(granted)
        wanted = asked.split()
        low = {s.lower() for s in granted}
        if any(s.lower() not in low for s in wanted):
            raise EntraError("invalid_grant", 65001, "The user or administrator has not consented to these scopes.")
        keep_offline = "offline_access" in low and "offline_access" not in {s.lower() for s in wanted}
        return [*wanted, *(["offline_access"] if keep_offline else [])]

    def _redeem_refresh(self, form: Mapping[str, str], client: Client) -> dict[str, Any]:
        token = form.get("refresh_token")
        if not token:
            raise missing_param("refresh_token")
        now = self.clock.now()
        with self.store.lock:
            grant = self.refresh.get(token)
            if grant is None:
                raise EntraError("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
            if grant.client_id != client.client_id:
                raise EntraError("invalid_grant", 70000, "The refresh token was issued to a different client.")
            if grant.revoked:
                raise EntraError("invalid_grant", 70000, "The provided refresh token was revoked.")
            if grant.redeemed and self.knobs.idp_refresh_single_use:
                raise EntraError(
                    "invalid_grant", 70000, "The provided refresh token was already redeemed (single-use knob)."
                )
            if self.store.generation(grant.upn) != grant.generation:
                raise revoked_error()
            if now - grant.issued > timedelta(seconds=self.knobs.idp_refresh_inactivity):
                raise EntraError(
                    "invalid_grant",
                    700082,
                    f"The refresh token has expired due to inactivity. The token was issued on "
                    f"{grant.issued.isoformat()} and was inactive for "
                    f"{self.knobs.idp_refresh_inactivity} seconds.",
                )
            scopes = self._narrowed(grant.scopes, form.get("scope"))
            resource = self.scopes.resource_of(scopes)
            grant.redeemed = True
        return issue_tokens(self, client, grant.upn, scopes, None, resource, consented=grant.scopes)

    # --- tokens presented back to us (see idp_tokens) ------------------------------------
    def user_for_access_token(self, token: str) -> tuple[Record, dict[str, Any]]:
        return user_for_access_token(self, token)

    def user_for_api_token(self, token: str, audience: str) -> tuple[Record, dict[str, Any]]:
        return user_for_api_token(self, token, audience)

    def revoke_token(self, token: str) -> None:
        """RFC 7009 revocation (only exposed when the ``idp_revocation`` knob is on)."""
        with self.store.lock:
            grant = self.refresh.get(token)
            if grant is not None:
                grant.revoked = True
