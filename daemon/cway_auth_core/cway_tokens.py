"""Cway's ``POST /oauth/token``: the ``grant_type=azure`` exchange, and refreshing.

Cway documents no contract for the exchange, so the shape is a setting (``CWAY_EXCHANGE_TOKEN``):

* ``code``: ``token`` is the Entra authorization code and Cway redeems it itself. Entra binds a
  code to its client id, redirect URI and PKCE verifier, so ``client_id``, ``redirect_uri`` and
  ``code_verifier`` go with it.
* ``access_token`` / ``id_token``: the daemon redeemed the code itself and ``token`` is the Entra
  access token for Microsoft Graph (Cway asks Graph ``/me``) or the Entra ID token (Cway checks
  signature, issuer, audience). ``client_id`` goes with it too, so Cway can tell which app it is for.

``state`` is the sign-in's own state (a silent re-exchange has none and sends a fresh random one).
No ``resource`` parameter is ever sent (Entra v2 rejects it, AADSTS9010010). What Cway answered to
the last exchange (status and cleaned error text, never a token) is kept in ``last_exchange`` for
``cway-auth doctor``.
"""

from __future__ import annotations

import secrets

import httpx

from cway_auth_core.errors import BackendError, BackendTransient
from cway_auth_core.grants import TokenGrant, clean_text, parse_token_response
from cway_auth_core.http import json_object, send
from cway_contract import Clock, ExchangeReport, Settings

FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}


class CwayTokenClient:
    """Talks to ``settings.cway_token_url``; every failure is a classified ``Backend*`` exception."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient, clock: Clock) -> None:
        self._settings = settings
        self._url = settings.cway_token_url
        self._http = http
        self._clock = clock
        self.last_exchange: ExchangeReport | None = None

    async def exchange_code(self, *, code: str, state: str, code_verifier: str, redirect_uri: str) -> TokenGrant:
        form = {
            "grant_type": "azure",
            "token": code,
            "state": state,
            "client_id": self._settings.azure_client_id or "",
            "code_verifier": code_verifier,
            "redirect_uri": redirect_uri,
        }
        return await self._exchange(form, shape="code")

    async def exchange_token(self, *, token: str, shape: str, state: str | None = None) -> TokenGrant:
        """Send an Entra access token or ID token (``shape``) for Cway's tokens."""
        form = {
            "grant_type": "azure",
            "token": token,
            "state": state or secrets.token_urlsafe(32),
            "client_id": self._settings.azure_client_id or "",
        }
        return await self._exchange(form, shape=shape)

    async def refresh(self, refresh_token: str) -> TokenGrant:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return await self._post(form, what="Cway's token endpoint (refresh)")

    async def _exchange(self, form: dict[str, str], *, shape: str) -> TokenGrant:
        what = f"Cway's token endpoint (exchange of an Entra {shape.replace('_', ' ')})"
        sent_at = self._clock.now()
        try:
            response = await send(self._http, "POST", self._url, what=what, data=form, headers=FORM_HEADERS)
        except BackendTransient as exc:
            self.last_exchange = ExchangeReport(at=sent_at, shape=shape, ok=False, description=str(exc))
            raise
        data = json_object(response) or {}
        ok = response.is_success
        self.last_exchange = ExchangeReport(
            at=sent_at,
            shape=shape,
            ok=ok,
            status=response.status_code,
            error=None if ok else clean_text(data.get("error"), 60) or None,
            description=None if ok else clean_text(data.get("error_description") or data.get("message"), 300) or None,
        )
        try:
            return parse_token_response(response, sent_at=sent_at, what=what)
        except BackendError as exc:
            if ok:  # a 2xx Cway answer we could not use (no access_token …): say so to doctor
                self.last_exchange = self.last_exchange.model_copy(update={"ok": False, "description": str(exc)})
            raise

    async def _post(self, form: dict[str, str], *, what: str) -> TokenGrant:
        sent_at = self._clock.now()
        response = await send(self._http, "POST", self._url, what=what, data=form, headers=FORM_HEADERS)
        return parse_token_response(response, sent_at=sent_at, what=what)
