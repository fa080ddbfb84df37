"""Settings of ``cway-mcp serve``: the shared loader's values plus the remote server's own.

``CWAY_MCP_PUBLIC_URL`` is the origin clients reach (behind the load balancer, https); the MCP
endpoint is ``<public>/mcp``, the Entra redirect URI ``<public>/oauth/callback``.
``CWAY_MCP_DATABASE_URL`` is a ``postgresql://`` URL (never echoed: it may hold a password).
``CWAY_MCP_STORE_KEY`` is required: every replica must decrypt every row, so no replica may make
up a key of its own. The rate limits (``CWAY_MCP_RATE_*``) and the trusted proxies
(``CWAY_MCP_TRUSTED_PROXIES``) are parsed in :mod:`cway_remote.ratelimit`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from cway_contract import ConfigError, RedirectTarget, Settings, is_loopback_host, load_settings, load_values
from cway_remote.ratelimit import RateLimits, load_rate_limits, load_trusted_proxies

MCP_PATH = "/mcp"
CALLBACK_PATH = "/oauth/callback"
DEFAULT_ACCESS_TOKEN_SECONDS = 900
DEFAULT_CONSENT_DAYS = 90
#: After SIGTERM, how long /readyz answers 503 while requests are still served, so the balancer
#: (Kubernetes' endpoints controller) stops sending new ones before the listener closes.
DEFAULT_DRAIN_SECONDS = 5.0
#: Then how long requests already in flight may take before the process exits anyway.
DEFAULT_GRACEFUL_SECONDS = 20.0


@dataclass(frozen=True)
class RemoteSettings:
    base: Settings
    public_url: str
    database_url: str
    access_token_seconds: int
    consent_days: int = DEFAULT_CONSENT_DAYS  # how long an approval is remembered; 0 = ask every time
    rate_limits: RateLimits = field(default_factory=RateLimits)
    #: uvicorn's ``forwarded_allow_ips``: peers whose ``X-Forwarded-For`` names the client (None: loopback only)
    trusted_proxies: str | None = None
    drain_seconds: float = DEFAULT_DRAIN_SECONDS
    graceful_seconds: float = DEFAULT_GRACEFUL_SECONDS

    @property
    def resource_url(self) -> str:
        """This server's resource identifier (RFC 8707 / 9728): the audience of its own tokens."""
        return self.public_url + MCP_PATH

    @property
    def callback_url(self) -> str:
        return self.public_url + CALLBACK_PATH

    @property
    def is_loopback(self) -> bool:
        """A development or test deployment (the public URL is on this machine)."""
        return is_loopback_host(urlsplit(self.public_url).hostname or "")

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    def __repr__(self) -> str:
        return f"RemoteSettings(public_url={self.public_url!r}, database_url='(set)')"


def load_remote_settings(env: Mapping[str, str] | None = None, *, cwd: Path | None = None) -> RemoteSettings:
    values = load_values(env, cwd=cwd)
    public = values.get("CWAY_MCP_PUBLIC_URL", "").rstrip("/")
    fix = "the https origin MCP clients reach this server at, e.g. https://cway-mcp.example.com (http only on loopback)"
    parts = urlsplit(public)
    if not public or parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError("CWAY_MCP_PUBLIC_URL", public or None, fix)
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigError("CWAY_MCP_PUBLIC_URL", public, fix)
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError("CWAY_MCP_PUBLIC_URL", public, "must be an origin only (no path, query or credentials)")

    database = values.get("CWAY_MCP_DATABASE_URL", "")
    if urlsplit(database).scheme not in ("postgresql", "postgres"):
        raise ConfigError("CWAY_MCP_DATABASE_URL", database or None, "must be a postgresql://user@host/db URL")
    if not values.get("CWAY_MCP_STORE_KEY"):
        raise ConfigError(
            "CWAY_MCP_STORE_KEY",
            None,
            "cway-mcp serve needs the token encryption key(s) from its secret store, the same on every replica",
        )
    seconds_raw = values.get("CWAY_MCP_ACCESS_TOKEN_SECONDS", str(DEFAULT_ACCESS_TOKEN_SECONDS))
    try:
        seconds = int(seconds_raw)
    except ValueError:
        raise ConfigError("CWAY_MCP_ACCESS_TOKEN_SECONDS", seconds_raw, "must be a whole number of seconds") from None
    if not 60 <= seconds <= 86400:
        raise ConfigError("CWAY_MCP_ACCESS_TOKEN_SECONDS", seconds_raw, "must be between 60 and 86400")

    consent_raw = values.get("CWAY_MCP_CONSENT_DAYS", str(DEFAULT_CONSENT_DAYS))
    try:
        consent_days = int(consent_raw)
    except ValueError:
        raise ConfigError("CWAY_MCP_CONSENT_DAYS", consent_raw, "must be a whole number of days") from None
    if not 0 <= consent_days <= 365:
        raise ConfigError("CWAY_MCP_CONSENT_DAYS", consent_raw, "must be between 0 (always ask) and 365")

    drain = _seconds(values, "CWAY_MCP_DRAIN_SECONDS", DEFAULT_DRAIN_SECONDS, 0, 300)
    graceful = _seconds(values, "CWAY_MCP_GRACEFUL_SECONDS", DEFAULT_GRACEFUL_SECONDS, 1, 600)

    base = load_settings(env, component="daemon", cwd=cwd)
    callback = public + CALLBACK_PATH
    cb = urlsplit(callback)
    port = cb.port or (443 if cb.scheme == "https" else 80)
    # The Entra redirect goes to this server's public callback (a web redirect URI), not loopback.
    base = dataclasses.replace(
        base, redirect=RedirectTarget(uri=callback, host=cb.hostname or "", port=port, path=CALLBACK_PATH)
    )
    return RemoteSettings(
        base=base,
        public_url=public,
        database_url=database,
        access_token_seconds=seconds,
        consent_days=consent_days,
        rate_limits=load_rate_limits(values),
        trusted_proxies=load_trusted_proxies(values),
        drain_seconds=drain,
        graceful_seconds=graceful,
    )


def _seconds(values: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = values.get(name)
    if raw is None or raw == "":
        return default
    try:
        seconds = float(raw)
    except ValueError:
        raise ConfigError(name, raw, "must be a number of seconds") from None
    if not low <= seconds <= high:
        raise ConfigError(name, raw, f"must be between {low:g} and {high:g} seconds")
    return seconds
