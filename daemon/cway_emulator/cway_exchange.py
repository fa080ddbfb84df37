"""The emulated Cway's ``grant_type=azure``: one strict check per exchange shape (``cway_exchange_token`` knob).

Cway documents no contract, so the emulator accepts exactly one shape at a time, each checked the
way a real backend would, over real HTTP:

* ``code``: redeem the Entra code at the IdP's token endpoint with the ``client_id``,
  ``code_verifier`` and ``redirect_uri`` sent along (Entra binds the code to all three), then ask
  Graph ``/v1.0/me`` who it is. If the client id names the confidential Cway app, Cway adds its secret.
* ``access_token``: ask Graph ``/v1.0/me`` with the token (so it must be a Graph token with ``User.Read``).
* ``id_token``: fetch the IdP's JWKS and check the signature, ``iss`` (the per-tenant issuer of a
  tenant the IdP knows: the ``{tenantid}`` template of multi-tenant discovery), ``aud`` (the desktop
  app's client id, which this Cway is configured to trust), ``exp``/``nbf`` and ``ver`` 2.0.

Whatever the shape, the signed-in person must be an active Cway user. Errors: the IdP or Graph
refusing -> 400 ``invalid_grant`` carrying their text (an AADSTS number included); the IdP or Graph
unreachable / 5xx -> 502 ``server_error``; not a Cway user -> 403 ``access_denied``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from cway_emulator.cway_core import CwayTokenError
from cway_emulator.emulator import CWAY_CLIENT_ID, Emulator
from cway_emulator.jwt_keys import epoch, tls_context

REQUIRED = {
    "code": ("token", "state", "client_id", "code_verifier", "redirect_uri"),
    "access_token": ("token", "state"),
    "id_token": ("token", "state"),
}


async def azure_exchange(emu: Emulator, form: dict[str, str]) -> dict[str, Any]:
    shape = emu.knobs.cway_exchange_token
    missing = [f for f in REQUIRED[shape] if not form.get(f)]
    if missing:
        raise CwayTokenError("invalid_request", f"Missing required parameter(s): {', '.join(missing)}")
    timeout = httpx.Timeout(emu.knobs.cway_idp_timeout)
    try:
        async with httpx.AsyncClient(timeout=timeout, trust_env=False, verify=tls_context()) as http:
            if shape == "code":
                graph_token = await _redeem_code(emu, http, form)
                email = _email_of(await _graph_me(emu, http, graph_token))
            elif shape == "access_token":
                email = _email_of(await _graph_me(emu, http, form["token"]))
            else:
                claims = await _id_token_claims(emu, http, form["token"])
                email = str(claims.get("email") or claims.get("preferred_username") or "")
    except httpx.HTTPError as exc:
        raise CwayTokenError("server_error", f"Identity provider unreachable ({type(exc).__name__})", 502) from exc
    user = emu.cway.usable_user(email)
    if user is None:
        raise CwayTokenError("access_denied", f"No active Cway user for {email or 'this account'}", 403)
    return emu.cway.issue(user)


async def _redeem_code(emu: Emulator, http: httpx.AsyncClient, form: dict[str, str]) -> str:
    data = {
        "grant_type": "authorization_code",
        "client_id": form["client_id"],
        "code": form["token"],
        "code_verifier": form["code_verifier"],
        "redirect_uri": form["redirect_uri"],
    }
    if form["client_id"] == CWAY_CLIENT_ID:
        data["client_secret"] = emu.cway_client_secret
    resp = await http.post(emu.idp_token_url, data=data)
    if resp.status_code in (400, 401):
        desc = _json(resp).get("error_description") or "The identity provider rejected the code"
        raise CwayTokenError("invalid_grant", str(desc))
    if resp.status_code != 200:
        raise CwayTokenError("server_error", f"Identity provider answered HTTP {resp.status_code}", 502)
    return str(_json(resp).get("access_token", ""))


async def _graph_me(emu: Emulator, http: httpx.AsyncClient, token: str) -> dict[str, Any]:
    me = await http.get(emu.graph_me_url, headers={"Authorization": f"Bearer {token}"})
    if me.status_code in (401, 403):
        error = _json(me).get("error")
        code = error.get("code") if isinstance(error, dict) else None
        raise CwayTokenError("invalid_grant", f"Microsoft Graph refused the token ({code or me.status_code})")
    if me.status_code != 200:
        raise CwayTokenError("server_error", f"Microsoft Graph answered HTTP {me.status_code}", 502)
    return _json(me)


async def _id_token_claims(emu: Emulator, http: httpx.AsyncClient, token: str) -> dict[str, Any]:
    keys = await http.get(f"{emu.idp_url}/{emu.tenant}/discovery/v2.0/keys")
    if keys.status_code != 200:
        raise CwayTokenError("server_error", f"Identity provider keys answered HTTP {keys.status_code}", 502)
    try:
        decoded = jwt.decode(token, KeySet.import_key_set(keys.json()), algorithms=["RS256"])
    except (JoseError, ValueError, TypeError) as exc:
        raise CwayTokenError("invalid_grant", f"The ID token is not valid ({type(exc).__name__})") from None
    claims = dict(decoded.claims)
    tid = str(claims.get("tid") or "")
    if tid not in emu.tenants or claims.get("iss") != emu.issuer_for(tid):
        raise CwayTokenError("invalid_grant", "The ID token's issuer is not a known tenant's issuer")
    if claims.get("aud") != emu.client_id:
        raise CwayTokenError("invalid_grant", "The ID token is for another application (aud)")
    if claims.get("ver") != "2.0" or ("nonce" in claims and not isinstance(claims["nonce"], str)):
        raise CwayTokenError("invalid_grant", "Not an ID token")
    now = epoch(emu.clock.now())
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not isinstance(exp, int) or exp <= now or (isinstance(nbf, int) and nbf > now + 300):
        raise CwayTokenError("invalid_grant", "The ID token has expired or is not valid yet")
    return claims


def _email_of(me: dict[str, Any]) -> str:
    return str(me.get("mail") or me.get("userPrincipalName") or "")


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        data = resp.json()
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}
