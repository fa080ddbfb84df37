"""``cway-auth doctor``'s sign-in checks: the exchange shape, what Cway answered, configuration errors.

Cway documents no contract for ``grant_type=azure`` (``CWAY_EXCHANGE_TOKEN`` picks one of three
plausible shapes), so the fastest way for an administrator to find the right one is to see exactly
what Cway answered at the last exchange: the running daemon keeps the status and Cway's cleaned
error text (never a token, code or verifier) and doctor shows it with a suggestion. Configuration
errors an IdP or Cway reported (``invalid_client``, AADSTS7000215 …) are shown the same way: the
daemon logs each once, keeps the user's tokens, and doctor is where the administrator looks.
"""

from __future__ import annotations

from cway_auth_core import ADMIN_CODES, aadsts_code
from cway_authd.cli.doctor_check import Check
from cway_contract import ExchangeReport, HealthResponse, Settings, format_time

SHAPES = {
    "code": "the Entra authorization code (Cway redeems it with client_id, redirect_uri, code_verifier)",
    "access_token": "an Entra access token for Microsoft Graph (Cway asks Graph /me)",
    "id_token": "the Entra ID token (Cway checks signature, issuer, audience)",
}
SETUP_DOC = "docs/entra-setup.md#which-exchange-shape"


def sign_in_checks(settings: Settings, health: HealthResponse | str) -> list[Check]:
    if settings.auth_flow != "cway":
        return [Check(True, "exchange", "AUTH_FLOW=direct: the IdP's own tokens are used, no exchange at Cway")]
    checks = [_check_shape(settings)]
    if isinstance(health, HealthResponse):
        checks.append(_check_last_exchange(settings, health.last_exchange))
        if health.config_problem is not None:
            problem = health.config_problem
            code = aadsts_code(problem.code)
            hint = ADMIN_CODES.get(code, "the application's registration or settings") if code else problem.code
            checks.append(
                Check(
                    False,
                    "configuration errors",
                    f"{problem.code} seen {problem.count} time(s), last {format_time(problem.last_seen)}: "
                    f"{problem.message}",
                    f"an administrator must fix it ({hint}); see docs/entra-setup.md. Users' tokens are kept "
                    "meanwhile and work again once it is fixed",
                )
            )
    return checks


def _check_shape(settings: Settings) -> Check:
    silent = (
        "silent re-exchange on (the Entra refresh token is kept, encrypted)"
        if settings.silent_reexchange
        else ("silent re-exchange off" if settings.cway_exchange_token != "code" else "no silent re-exchange")
    )
    shape = settings.cway_exchange_token
    return Check(True, "exchange shape", f"CWAY_EXCHANGE_TOKEN={shape}: {SHAPES[shape]}; {silent}")


def _check_last_exchange(settings: Settings, report: ExchangeReport | None) -> Check:
    if report is None:
        return Check(True, "last exchange", "none since the daemon started; sign in once, then run doctor again")
    when = format_time(report.at)
    if report.ok:
        return Check(True, "last exchange", f"Cway accepted the {report.shape} exchange at {when} (HTTP 200)")
    said = " ".join(part for part in (report.error, report.description) if part) or "no error text"
    status = f"HTTP {report.status}" if report.status is not None else "no answer"
    return Check(
        False,
        "last exchange",
        f"Cway refused the {report.shape} exchange at {when}: {status} {said}",
        _suggestion(settings, report),
    )


def _suggestion(settings: Settings, report: ExchangeReport) -> str:
    text = f"{report.error or ''} {report.description or ''}"
    code = aadsts_code(text)
    if code in ADMIN_CODES:
        return f"an administrator must fix the app registration: {ADMIN_CODES[code]} (AADSTS{code}); see {SETUP_DOC}"
    if report.status is None or (report.status is not None and report.status >= 500):
        return "Cway or Entra was unreachable or failing; try again, and check the network or proxy"
    if report.status == 403:
        return "Cway knows the person but refuses them (no active Cway user for that account)"
    others = [shape for shape in SHAPES if shape != settings.cway_exchange_token]
    return (
        f"Cway may expect another shape: set CWAY_EXCHANGE_TOKEN to {' or '.join(others)} (one sign-in each, "
        f"then doctor again); see {SETUP_DOC}"
    )
