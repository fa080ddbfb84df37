"""Data types and error shapes of the emulated Entra ID (shared by ``idp_core`` and ``idp``).

Errors carry Entra's ``AADSTS`` numbers because clients (and humans reading logs) branch on
them: 50173/700082 mean "sign in again", 54005/70008 mean "get a new code", and so on.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_RESOURCE = "https://graph.microsoft.com"
OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})
PROMPTS = frozenset({"login", "none", "consent", "select_account"})
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass
class Client:
    client_id: str
    name: str
    redirect_uris: list[str]
    secret: str | None = None
    #: An app that exposes an API ("Expose an API" in Entra): its application ID URI ...
    app_id_uri: str | None = None
    #: ... and the delegated scopes it publishes (``api://<app>/<name>``).
    api_scopes: tuple[str, ...] = ()

    @property
    def confidential(self) -> bool:
        return self.secret is not None


class EntraError(Exception):
    """An error of the token endpoint, shaped like Entra's JSON."""

    def __init__(self, error: str, code: int, message: str, status: int = 400) -> None:
        super().__init__(f"AADSTS{code}: {message}")
        self.error, self.code, self.message, self.status = error, code, message, status

    def body(self, now: datetime) -> dict[str, Any]:
        trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
        return {
            "error": self.error,
            "error_description": f"AADSTS{self.code}: {self.message} Trace ID: {trace} "
            f"Correlation ID: {corr} Timestamp: {stamp}",
            "error_codes": [self.code],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": corr,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.code}",
        }


class PageError(EntraError):
    """An authorize error before the redirect URI is trusted: shown as an HTML page."""


class RedirectError(EntraError):
    """An authorize error after the redirect URI is trusted: sent back to the client."""

    location: str = ""


@dataclass
class AuthRequest:
    client_id: str
    redirect_uri: str
    scopes: list[str]
    state: str | None
    nonce: str | None
    challenge: str | None
    login_hint: str | None
    prompt: str | None
    created: datetime
    #: The tenant id the authorize URL named ("" for organizations/common), set by the HTTP layer.
    authority_tenant: str = ""

    def error_location(self, err: EntraError) -> str:
        params = {"error": err.error, "error_description": f"AADSTS{err.code}: {err.message}"}
        return with_query(self.redirect_uri, params, self.state)


@dataclass
class CodeGrant:
    request: AuthRequest
    upn: str
    generation: int
    expires: datetime
    redeemed: bool = False


@dataclass
class RefreshGrant:
    client_id: str
    upn: str
    scopes: list[str]
    generation: int
    issued: datetime
    redeemed: bool = False
    revoked: bool = False


def redirect_registered(uri: str, registered: list[str], *, exact_port: bool) -> bool:
    """Entra's rule for native apps: a loopback ``http`` redirect URI matches whatever its port."""
    if uri in registered:
        return True
    if exact_port:
        return False
    try:
        asked = urlsplit(uri)
        asked_port = asked.port
    except ValueError:
        return False
    if asked.scheme != "http" or asked.hostname not in LOOPBACK_HOSTS or asked_port is None:
        return False
    for candidate in registered:
        known = urlsplit(candidate)
        same = (known.scheme, known.hostname, known.path, known.query) == (
            asked.scheme,
            asked.hostname,
            asked.path,
            asked.query,
        )
        if same:
            return True
    return False


def with_query(uri: str, params: dict[str, str], state: str | None) -> str:
    if state is not None:
        params = {**params, "state": state}
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def missing_param(name: str, page: bool = False) -> EntraError:
    cls = PageError if page else EntraError
    return cls("invalid_request", 900144, f"The request body must contain the following parameter: '{name}'.")


def redirect_missing(name: str) -> RedirectError:
    return RedirectError("invalid_request", 900144, f"The request must contain the parameter '{name}'.")


def multiple_resources_error(scopes: list[str]) -> EntraError:
    return EntraError(
        "invalid_scope",
        28000,
        "Provided value for the input parameter scope is not valid because it contains more than one "
        f"resource. Scope {' '.join(scopes)} is not valid.",
    )


def revoked_error() -> EntraError:
    return EntraError(
        "invalid_grant",
        50173,
        "The provided grant has expired due to it being revoked, a fresh auth token is needed. "
        "The user might have changed or reset their password.",
    )
