"""Entra's refusals, injectable per account and per grant (``Knobs.entra_faults``).

Each entry of :data:`CATALOG` is what Entra's token endpoint answers for that AADSTS number: the
OAuth ``error``, the HTTP status and the text. A fault names the number, the grant it hits
(``authorization_code``, ``refresh_token`` or ``any``), optionally the account (UPN) and how many
calls it lasts. The token endpoint consumes one shot when a matching request arrives, whether the
daemon or the emulated Cway (redeeming a code, ``CWAY_EXCHANGE_TOKEN=code``) sent it.
"""

from __future__ import annotations

from dataclasses import dataclass

#: AADSTS number -> (OAuth error, HTTP status, message), as Entra's token endpoint answers.
CATALOG: dict[int, tuple[str, int, str]] = {
    # The user must sign in again.
    70000: ("invalid_grant", 400, "The provided grant is invalid or malformed."),
    70008: (
        "invalid_grant",
        400,
        "The provided authorization code or refresh token has expired due to inactivity. "
        "Send a new interactive authorization request for this user and resource.",
    ),
    700082: ("invalid_grant", 400, "The refresh token has expired due to inactivity."),
    50173: ("invalid_grant", 400, "The provided grant has expired due to it being revoked."),
    50076: (
        "interaction_required",
        400,
        "Due to a configuration change made by your administrator, or because you moved to a new location, "
        "you must use multi-factor authentication to access the resource.",
    ),
    50079: ("interaction_required", 400, "The user is required to register for multi-factor authentication."),
    53003: ("interaction_required", 400, "Access has been blocked by Conditional Access policies."),
    65001: ("consent_required", 400, "The user or administrator has not consented to use the application."),
    50058: ("login_required", 400, "A silent sign-in request was sent but no user is signed in."),
    # The administrator's configuration.
    7000215: ("invalid_client", 401, "Invalid client secret provided."),
    700016: ("unauthorized_client", 400, "Application with the given identifier was not found in the directory."),
    700025: (
        "invalid_client",
        401,
        "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
    ),
    50011: (
        "invalid_client",
        400,
        "The redirect URI specified in the request does not match the redirect URIs configured for the application.",
    ),
    50194: (
        "invalid_request",
        400,
        "Application is not configured as a multi-tenant application. Usage of the /common endpoint is not "
        "supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint.",
    ),
}

GRANTS = ("authorization_code", "refresh_token", "any")


class FaultError(ValueError):
    """A fault that does not make sense (unknown AADSTS number or grant)."""


@dataclass
class EntraFault:
    aadsts: int
    grant: str = "any"
    account: str | None = None
    count: int = 1

    def __post_init__(self) -> None:
        if self.aadsts not in CATALOG:
            raise FaultError(f"unknown AADSTS fault {self.aadsts}; known: {sorted(CATALOG)}")
        if self.grant not in GRANTS:
            raise FaultError(f"grant must be one of {GRANTS}")
        if self.count < 1:
            raise FaultError("count must be >= 1")
        self.account = self.account.lower() if self.account else None

    def matches(self, grant: str, account: str | None) -> bool:
        grant_ok = self.grant in ("any", grant)
        return grant_ok and (self.account is None or (account or "").lower() == self.account)
