"""Minting the IdP's tokens, and checking them when they come back.

Access tokens are for exactly one resource (see :mod:`cway_emulator.idp_scopes`): Graph gets
v1 tokens (``aud`` = Graph, ``upn``), an API that exposes scopes gets v2 tokens (``aud`` = its
client id, ``preferred_username``), remembered by ``uti`` so the API can tell a revoked grant.
ID tokens carry a pairwise ``sub`` like Entra's; refresh tokens only come with ``offline_access``.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from cway_emulator.fixtures import Record
from cway_emulator.idp_model import GRAPH_APP_ID, Client, EntraError, RefreshGrant, s256
from cway_emulator.jwt_keys import TokenInvalid, epoch, idp_signing_key, sign_rs256, verify

if TYPE_CHECKING:
    from cway_emulator.idp_core import IdpCore


def issue_tokens(
    core: IdpCore,
    client: Client,
    upn: str,
    scopes: list[str],
    nonce: str | None,
    resource: tuple[str, list[str]],
    *,
    consented: list[str],
) -> dict[str, Any]:
    user = core.store.directory_user(upn)
    if user is None:  # pragma: no cover - directory entries are never deleted
        raise EntraError("invalid_grant", 50034, "The user account does not exist in the tenant directory.")
    now = core.clock.now()
    lifetime = core.knobs.idp_access_lifetime
    low = {s.lower() for s in scopes}
    audience, names = resource
    tid = core.tenant_of(upn)
    base = {"iss": core.issuer_for(tid), "iat": epoch(now), "nbf": epoch(now), "exp": epoch(now) + lifetime}
    uti = secrets.token_urlsafe(12)
    access_claims: dict[str, Any]
    if audience == GRAPH_APP_ID:  # Graph's tokens are v1 tokens whatever endpoint issued them
        granted = [s for s in scopes if s.lower() != "user.read"] + ["User.Read"]
        access_claims = {
            **base,
            "aud": GRAPH_APP_ID,
            "tid": tid,
            "oid": user["oid"],
            "sub": user["oid"],
            "upn": user["upn"],
            "name": user["displayName"],
            "appid": client.client_id,
            "scp": " ".join(names),
            "uti": uti,
            "ver": "1.0",
        }
    else:  # an API that accepts v2 tokens: aud is its client id, the user is preferred_username
        granted = list(scopes)
        access_claims = {
            **base,
            "aud": audience,
            "azp": client.client_id,
            "azpacr": "1" if client.confidential else "0",
            "tid": tid,
            "oid": user["oid"],
            "sub": s256(user["oid"] + audience)[:43],
            "preferred_username": user["upn"],
            "name": user["displayName"],
            "scp": " ".join(names),
            "uti": uti,
            "ver": "2.0",
        }
        api = core.clients.get(audience)
        if core.knobs.idp_api_token_version == 1 and api is not None:
            # accessTokenAcceptedVersion null/1: a v1 token, whatever endpoint issued it (as in Entra).
            access_claims.update(
                {
                    "iss": f"https://sts.windows.net/{tid}/",
                    "aud": api.app_id_uri or f"api://{api.client_id}",
                    "appid": client.client_id,
                    "upn": user["upn"],
                    "unique_name": user["upn"],
                    "ver": "1.0",
                }
            )
            for v2_only in ("azp", "azpacr", "preferred_username"):
                access_claims.pop(v2_only, None)
        with core.store.lock:
            core.api_tokens[uti] = (upn, core.store.generation(upn))
    key = idp_signing_key()
    response: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": " ".join(granted),
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": sign_rs256(key, access_claims),
    }
    if "openid" in low:
        id_claims: dict[str, Any] = {
            **base,
            "aud": client.client_id,
            "exp": epoch(now) + 3600,
            "tid": tid,
            "oid": user["oid"],
            # Entra's sub is pairwise (per app): do not confuse it with oid.
            "sub": s256(user["oid"] + client.client_id)[:43],
            "preferred_username": user["upn"],
            "name": user["displayName"],
            "ver": "2.0",
        }
        if "email" in low:
            id_claims["email"] = user["mail"]
        if nonce is not None:
            id_claims["nonce"] = nonce
        response["id_token"] = sign_rs256(key, id_claims)
    if "offline_access" in low:
        refresh = "emu_rt." + secrets.token_urlsafe(48)
        with core.store.lock:
            # Entra's refresh tokens are multi-resource: they carry what was consented, not
            # just what this token was for, so a refresh may name another consented resource.
            core.refresh[refresh] = RefreshGrant(
                client.client_id, upn, list(consented), core.store.generation(upn), now
            )
        response["refresh_token"] = refresh
    return response


def user_for_access_token(core: IdpCore, token: str) -> tuple[Record, dict[str, Any]]:
    """Resolve a Graph access token to (directory user, claims); raise TokenInvalid."""
    claims = verify(token, idp_signing_key(), "RS256")
    tid = str(claims.get("tid"))
    if claims.get("aud") != GRAPH_APP_ID or tid not in core.tenants or claims.get("iss") != core.issuer_for(tid):
        raise TokenInvalid("Invalid audience or issuer.")
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= epoch(core.clock.now()):
        raise TokenInvalid("Lifetime validation failed, the token is expired.")
    user = next((u for u in core.store.directory.values() if u["oid"] == claims.get("oid")), None)
    if user is None:
        raise TokenInvalid("Unknown user.")
    return user, claims


def user_for_api_token(core: IdpCore, token: str, audience: str) -> tuple[Record, dict[str, Any]]:
    """Resolve an access token issued for the API ``audience`` to (directory user, claims).

    What a resource server checks (signature by the IdP's key, ``iss``, ``aud``, lifetime on
    the shared clock), plus what only the emulator can: the token was issued by this
    instance and the user's grants were not revoked since. Raises ``TokenInvalid``.
    """
    claims = verify(token, idp_signing_key(), "RS256")
    tid = str(claims.get("tid"))
    api = core.clients.get(audience)
    if claims.get("ver") == "1.0":  # a v1 token: sts.windows.net issuer, the App ID URI as audience
        issuer, audiences = f"https://sts.windows.net/{tid}/", {api.app_id_uri if api else None, f"api://{audience}"}
    else:
        issuer, audiences = core.issuer_for(tid), {audience}
    if claims.get("iss") != issuer or tid not in core.tenants:
        raise TokenInvalid("Invalid issuer.")
    if claims.get("aud") not in audiences:
        raise TokenInvalid(f"Invalid audience {claims.get('aud')!r}.")
    now = epoch(core.clock.now())
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= now:
        raise TokenInvalid("Lifetime validation failed, the token is expired.")
    if isinstance(claims.get("nbf"), int) and claims["nbf"] > now:
        raise TokenInvalid("Lifetime validation failed, the token is not yet valid.")
    with core.store.lock:
        issued = core.api_tokens.get(str(claims.get("uti")))
    who = claims.get("preferred_username") or claims.get("upn") or ""
    if issued is None or issued[0].lower() != str(who).lower():
        raise TokenInvalid("Unknown token.")
    if core.store.generation(issued[0]) != issued[1]:
        raise TokenInvalid("The grant was revoked.")
    user = core.store.directory_user(issued[0])
    if user is None:  # pragma: no cover - directory entries are never deleted
        raise TokenInvalid("Unknown user.")
    return user, claims
