"""The settings' names, defaults and value types, shared by the loader's parts.

Kept apart from the loader so that every piece (sources, validation, the model) agrees on one list of
known and secret names without importing each other.
"""

from __future__ import annotations

from typing import Literal

Component = Literal["daemon", "shim", "cli"]
AuthMethod = Literal["static", "oauth2"]
AuthFlow = Literal["cway", "direct"]
#: What the daemon sends Cway as ``token`` in ``grant_type=azure`` (Cway documents no contract).
ExchangeToken = Literal["code", "access_token", "id_token"]
EXCHANGE_TOKENS: tuple[str, ...] = ("code", "access_token", "id_token")
#: Tenant words Entra accepts in the authority instead of a tenant id or domain.
MULTI_TENANT_AUTHORITIES = ("organizations", "common")

DEFAULT_REDIRECT_URI = "http://localhost:8765/callback"
DEFAULT_API_URL = "https://app.cway.se/graphql"
DEFAULT_SCOPES = "openid profile email User.Read"
#: Scopes every OIDC provider knows; anything else names a resource (an API) the token is for.
OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
DEFAULT_THRESHOLD_SECONDS = 300
#: Background refreshes at once: enough to keep thousands of accounts fresh, few enough to be polite to Cway.
DEFAULT_REFRESH_CONCURRENCY = 8
#: How long a stop may take before the service manager kills the daemon: the systemd unit's
#: ``TimeoutStopSec`` and the launchd agent's ``ExitTimeOut`` are written from it, and the daemon
#: plans its own shutdown inside it (``shutdown_budget.py``).
DEFAULT_STOP_TIMEOUT_SECONDS = 45

#: ``CWAY_TOOLSETS``: the groups the MCP tools come in (a tool module's ``TOOLSET``), as GitHub's MCP server has them.
TOOLSET_NAMES: tuple[str, ...] = ("approvals", "projects", "artworks", "media", "people", "catalogue", "admin", "ai")
#: ``CWAY_TOOLSETS`` words that are not a toolset: every toolset, or the small day-to-day set (the default).
ALL_TOOLSETS = "all"
DEFAULT_TOOLSET = "default"

# Settings whose values must never be echoed back in an error message.
SECRET_SETTINGS = frozenset({"CWAY_API_TOKEN", "CWAY_MCP_STORE_KEY", "AZURE_CLIENT_SECRET", "CWAY_MCP_DATABASE_URL"})

KNOWN_SETTINGS = frozenset(
    {
        "AUTH_METHOD",
        "AUTH_FLOW",
        "CWAY_API_TOKEN",
        "CWAY_API_URL",
        "CWAY_TOKEN_URL",
        "CWAY_WS_URL",
        "CWAY_USERNAME",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_REDIRECT_URI",
        "AZURE_AUTHORITY",
        "AZURE_SCOPES",
        "CWAY_EXCHANGE_TOKEN",
        "CWAY_SILENT_REEXCHANGE",
        "CWAY_REFRESH_THRESHOLD_SECONDS",
        "CWAY_REFRESH_CONCURRENCY",
        "CWAY_STOP_TIMEOUT_SECONDS",
        "CWAY_MCP_STATE_DIR",
        "CWAY_MCP_SOCKET",
        "CWAY_MCP_STORE_KEY",
        "CWAY_MCP_AUTOSTART",
        "CWAY_MCP_OPEN_BROWSER",
        "CWAY_MCP_LOG_LEVEL",
        "CWAY_MCP_HTTP_TIMEOUT",
        "CWAY_TOOLSETS",
        "CWAY_READ_ONLY",
        # `cway-mcp serve` (the remote server) only; validated by cway_remote.settings
        "CWAY_MCP_PUBLIC_URL",
        "CWAY_MCP_DATABASE_URL",
        "CWAY_MCP_ACCESS_TOKEN_SECONDS",
        "CWAY_MCP_CONSENT_DAYS",
        "CWAY_MCP_TRUSTED_PROXIES",
        "CWAY_MCP_RATE_REGISTER",
        "CWAY_MCP_RATE_AUTHORIZE",
        "CWAY_MCP_RATE_CONSENT",
        "CWAY_MCP_RATE_TOKEN",
        "CWAY_MCP_RATE_TOKEN_IP",
        "CWAY_MCP_DRAIN_SECONDS",
        "CWAY_MCP_GRACEFUL_SECONDS",
    }
)


#: ``CWAY_AZURE_CLIENT_ID`` -> ``AZURE_CLIENT_ID``: the prefixed names that win over the plain ones.
PREFIXED_ALIASES = {f"CWAY_{name}": name for name in KNOWN_SETTINGS if not name.startswith("CWAY_")}

#: ``CWAY_TOKEN_<ORG>``: a static API token of one more Cway organisation (AUTH_METHOD=static).
ORG_TOKEN_PREFIX = "CWAY_TOKEN_"


def is_org_token_setting(name: str) -> bool:
    """``CWAY_TOKEN_<ORG>`` (any organisation name) but not the known ``CWAY_TOKEN_URL``."""
    upper = name.upper()
    return upper.startswith(ORG_TOKEN_PREFIX) and len(upper) > len(ORG_TOKEN_PREFIX) and upper not in KNOWN_SETTINGS


def is_known(name: str) -> bool:
    return name in KNOWN_SETTINGS or name in PREFIXED_ALIASES or is_org_token_setting(name)
