"""What a token endpoint's refusal means for the user's tokens: Entra's error classes, in one place.

A refusal from Entra (or from Cway relaying Entra) falls into one of four classes, and the class,
not the HTTP status alone, decides what happens to the account (issue 9 §3):

* ``SIGN_IN`` - the grant is gone or needs the user: ``invalid_grant`` (AADSTS70008, 700082, 50173,
  70000 …), ``interaction_required`` (50076 MFA, 50079 MFA registration, 53003 Conditional Access …),
  ``consent_required`` (65001), ``login_required`` (50058). The account needs a sign-in; retrying
  cannot help.
* ``ADMIN`` - the *application's* configuration is wrong: ``invalid_client`` / ``unauthorized_client``
  (AADSTS7000215 bad secret, 700016 unknown app, 700025 secret sent by a public client, 50011
  redirect URI mismatch, 50194 single-tenant app on a multi-tenant endpoint …), and any 401 from
  a token endpoint (RFC 6749 §5.2 reserves it for client authentication). Never a reason to delete
  a user's tokens: they are kept, the current access token is served while valid, and the
  administrator is told once (log, ``cway-auth doctor``), with the AADSTS code.
* ``TRANSIENT`` - 5xx, 429, 408 (and timeouts, raised elsewhere): back off and retry.
* ``REJECTED`` - anything else (a malformed answer, an unexpected 4xx): keep the tokens, report.

The AADSTS code wins over the OAuth ``error`` string: Cway relays Entra's refusals of a code as
``invalid_grant`` carrying Entra's description, and AADSTS7000215 inside it is still the
administrator's problem, not the user's.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

__all__ = [
    "ADMIN_CODES",
    "SIGN_IN_CODES",
    "AdminProblem",
    "AdminProblems",
    "ErrorClass",
    "aadsts_code",
    "classify",
]


class ErrorClass(Enum):
    SIGN_IN = "sign_in"
    ADMIN = "admin"
    TRANSIENT = "transient"
    REJECTED = "rejected"


#: AADSTS codes that mean "this user must sign in (again)".
SIGN_IN_CODES: dict[int, str] = {
    50058: "no signed-in session (login_required)",
    50076: "multi-factor authentication is required",
    50079: "the user must register for multi-factor authentication",
    50078: "the multi-factor authentication claim expired",
    50173: "the grant was revoked (password changed or reset)",
    53003: "blocked by Conditional Access",
    54005: "the authorization code was already redeemed",
    65001: "consent is required",
    70000: "the grant is invalid",
    70008: "the code or refresh token expired",
    700082: "the refresh token expired after inactivity",
    700084: "the refresh token expired (single-page app lifetime)",
    9002313: "the grant is invalid",
    50148: "the PKCE verifier does not match",
}

#: AADSTS codes that mean "the application registration or configuration is wrong".
ADMIN_CODES: dict[int, str] = {
    7000215: "the client secret is wrong",
    7000218: "the app requires a client secret or certificate",
    7000222: "the client secret has expired",
    700016: "the application was not found in the directory",
    700025: "a public client must not send a client secret",
    50011: "the redirect URI is not registered for the application",
    50194: "the app is single-tenant but the sign-in used a multi-tenant endpoint (set AZURE_TENANT_ID)",
    90002: "the tenant was not found",
    500011: "the resource (API) is not registered in the tenant",
    70011: "a requested scope is not valid",
    28000: "the scopes name more than one resource",
    9010010: "the 'resource' parameter is not allowed with v2 scopes",
}

SIGN_IN_ERRORS = frozenset({"invalid_grant", "interaction_required", "consent_required", "login_required"})
ADMIN_ERRORS = frozenset({"invalid_client", "unauthorized_client"})

_AADSTS = re.compile(r"AADSTS(\d{4,8})")


def aadsts_code(description: str, error_codes: object = None) -> int | None:
    """The first AADSTS number in ``error_codes`` (Entra's JSON) or in the description text."""
    if isinstance(error_codes, list):
        for item in error_codes:
            if isinstance(item, int) and not isinstance(item, bool):
                return item
    found = _AADSTS.search(description or "")
    return int(found.group(1)) if found else None


def classify(status: int, error: str, code: int | None) -> ErrorClass:
    """The class of one refusal: HTTP status, OAuth ``error`` and AADSTS ``code`` (if any)."""
    if status in (408, 429) or status >= 500:
        return ErrorClass.TRANSIENT
    if code is not None:
        if code in ADMIN_CODES:
            return ErrorClass.ADMIN
        if code in SIGN_IN_CODES:
            return ErrorClass.SIGN_IN
    if error in ADMIN_ERRORS or status == 401:
        return ErrorClass.ADMIN
    if error in SIGN_IN_ERRORS:
        return ErrorClass.SIGN_IN
    return ErrorClass.REJECTED


def admin_hint(code: int | None) -> str:
    """A short explanation of an administrator's error, for messages."""
    if code is None:
        return "the token endpoint refused the application's credentials"
    return ADMIN_CODES.get(code, "the application's registration or configuration was refused")


@dataclass(frozen=True)
class AdminProblem:
    """The latest configuration error seen: what ``doctor`` and ``status`` show. No secrets."""

    code: str  # "AADSTS7000215", or the OAuth error when Entra gave no number
    message: str
    first_seen: datetime
    last_seen: datetime
    count: int


class AdminProblems:
    """Configuration errors, reported once each: the caller logs only when ``record`` says it is new.

    The daemon keeps one instance; refreshes and sign-ins record into it, the health answer reads it.
    A successful token call clears it (the administrator fixed the registration).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: AdminProblem | None = None

    def record(self, code: str, message: str, now: datetime) -> bool:
        """Remember a problem; True if it is new (not the same code as the one already known)."""
        with self._lock:
            known = self._latest
            if known is not None and known.code == code:
                self._latest = AdminProblem(code, message, known.first_seen, now, known.count + 1)
                return False
            self._latest = AdminProblem(code, message, now, now, 1)
            return True

    def clear(self) -> None:
        with self._lock:
            self._latest = None

    @property
    def latest(self) -> AdminProblem | None:
        with self._lock:
            return self._latest
