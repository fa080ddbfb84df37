"""Who a bearer belongs to, according to Cway: the ``loginInfo`` query.

The signed-in identity is the one Cway confirms for the new access token, not the one the user
typed: tokens are stored under this name. ``LOGIN_INFO_QUERY`` is checked against the real
schema (``cway_contract/data/schema.graphql``) by the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from cway_auth_core.errors import BackendFatal, BackendRejected, BackendTransient
from cway_auth_core.grants import clean_text
from cway_auth_core.http import json_object, send

LOGIN_INFO_QUERY = """
query CwayAuthLoginInfo {
  loginInfo {
    user {
      username
      email
      name
    }
    currentOrganisation {
      id
      name
    }
  }
}
""".strip()


@dataclass(frozen=True)
class CwayIdentity:
    username: str
    email: str | None
    display_name: str | None
    organisation_id: str | None
    organisation_name: str | None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


async def fetch_identity(http: httpx.AsyncClient, api_url: str, access_token: str) -> CwayIdentity:
    what = "Cway's GraphQL API (loginInfo)"
    response = await send(
        http,
        "POST",
        api_url,
        what=what,
        json={"query": LOGIN_INFO_QUERY, "operationName": "CwayAuthLoginInfo"},
        headers={"Authorization": f"Bearer {access_token}"},
    )
    if response.status_code in (401, 403):
        raise BackendFatal(f"{what} refused the new token ({response.status_code})")
    if response.status_code == 429 or response.status_code >= 500:
        raise BackendTransient(f"{what} answered {response.status_code}")
    data = json_object(response)
    if not response.is_success or data is None:
        raise BackendRejected(f"{what} answered {response.status_code} without a GraphQL result")
    errors = data.get("errors")
    if errors:
        first = errors[0].get("message") if isinstance(errors, list) and errors and isinstance(errors[0], dict) else ""
        raise BackendRejected(f"{what} returned an error: {clean_text(first) or 'unknown'}")
    info = (data.get("data") or {}).get("loginInfo")
    user = info.get("user") if isinstance(info, dict) else None
    username = _str(user.get("username")) if isinstance(user, dict) else None
    if not isinstance(info, dict) or not isinstance(user, dict) or username is None:
        raise BackendRejected(f"{what} did not say who the token belongs to")
    org = info.get("currentOrganisation")
    org = org if isinstance(org, dict) else {}
    return CwayIdentity(
        username=username,
        email=_str(user.get("email")),
        display_name=_str(user.get("name")),
        organisation_id=_str(org.get("id")),
        organisation_name=_str(org.get("name")),
    )
