"""Cway's ``POST /oauth/token``: exchanging an Entra authorization code, and refreshing.

The exchange (``grant_type=azure``) forwards the Entra code together with the PKCE
``code_verifier`` and the ``redirect_uri`` used at the authorize step: Cway redeems the code at
Entra itself, and Entra only redeems a PKCE-bound code with the matching verifier and the same
redirect URI. No ``resource`` parameter is ever sent (Entra v2 rejects it, AADSTS9010010).
"""

from __future__ import annotations

import httpx

from cway_common.clock import Clock
from cway_common.config import Settings

from .grants import TokenGrant, parse_token_response
from .http import send

FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}


class CwayTokenClient:
    """Talks to ``settings.cway_token_url``; every failure is a classified ``Backend*`` exception."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient, clock: Clock) -> None:
        self._url = settings.cway_token_url
        self._http = http
        self._clock = clock

    async def exchange_code(self, *, code: str, state: str, code_verifier: str, redirect_uri: str) -> TokenGrant:
        form = {
            "grant_type": "azure",
            "token": code,
            "state": state,
            "code_verifier": code_verifier,
            "redirect_uri": redirect_uri,
        }
        return await self._post(form, what="Cway's token endpoint (code exchange)")

    async def refresh(self, refresh_token: str) -> TokenGrant:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return await self._post(form, what="Cway's token endpoint (refresh)")

    async def _post(self, form: dict[str, str], *, what: str) -> TokenGrant:
        sent_at = self._clock.now()
        response = await send(self._http, "POST", self._url, what=what, data=form, headers=FORM_HEADERS)
        return parse_token_response(response, sent_at=sent_at, what=what)
