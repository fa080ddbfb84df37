"""Checks and parsers for single setting values: URLs, the redirect, scopes, numbers, switches.

Each turns a raw string into a typed value or raises one :class:`ConfigError` naming the setting and the fix.
"""

from __future__ import annotations

import ipaddress
import math
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from cway_contract.config_error import ConfigError
from cway_contract.config_model import RedirectTarget
from cway_contract.config_names import (
    ALL_TOOLSETS,
    DEFAULT_REDIRECT_URI,
    DEFAULT_TOOLSET,
    GRAPH_APP_ID,
    OIDC_SCOPES,
    TOOLSET_NAMES,
)
from cway_contract.contract import socket_path_problem


def is_graph_scope(scope: str) -> bool:
    """A Microsoft Graph scope as cway-mcp is configured with it (``User.Read`` or fully qualified)."""
    low = scope.lower()
    return low == "user.read" or low.startswith(("https://graph.microsoft.com/", GRAPH_APP_ID + "/"))


def check_direct_scopes(scopes: tuple[str, ...]) -> None:
    """``AUTH_FLOW=direct`` sends the IdP's access token to Cway, so it must be a token *for Cway*.

    Entra issues an access token for one resource, chosen by the scopes: with no resource scope
    or only Graph's it is a Microsoft Graph token that Cway cannot accept, and Graph scopes next
    to Cway's make the token request fail (AADSTS28000).
    """
    value = " ".join(scopes)
    resources = [s for s in scopes if s.lower() not in OIDC_SCOPES]
    graph = [s for s in resources if is_graph_scope(s)]
    if len(graph) == len(resources):
        raise ConfigError(
            "AZURE_SCOPES",
            value,
            "AUTH_FLOW=direct needs Cway's API scope (without one the IdP issues a Microsoft Graph token "
            "Cway cannot accept); add Cway's API scope, e.g. api://<cway app id>/user_impersonation",
        )
    if graph:
        raise ConfigError(
            "AZURE_SCOPES",
            value,
            f"AUTH_FLOW=direct: remove {' '.join(graph)} (Entra issues a token for one resource and refuses "
            "Graph scopes next to Cway's API scope, AADSTS28000)",
        )


def check_graph_scopes(scopes: tuple[str, ...]) -> None:
    """``CWAY_EXCHANGE_TOKEN=access_token`` sends a Microsoft Graph token: no other resource may be asked for."""
    others = [s for s in scopes if s.lower() not in OIDC_SCOPES and not is_graph_scope(s)]
    if others:
        raise ConfigError(
            "AZURE_SCOPES",
            " ".join(scopes),
            f"CWAY_EXCHANGE_TOKEN=access_token sends a Microsoft Graph token (User.Read): remove {' '.join(others)} "
            "(Entra issues a token for one resource, AADSTS28000)",
        )


def derive_token_url(api_url: str) -> str:
    """Cway's token endpoint lives at the root of the API's origin, not under /graphql."""
    parts = urlsplit(api_url)
    return f"{parts.scheme}://{parts.netloc}/oauth/token"


def derive_ws_url(api_url: str) -> str:
    """Subscriptions are assumed to share the GraphQL path (the common server layout): http→ws, https→wss."""
    parts = urlsplit(api_url)
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
    return parts._replace(scheme=scheme).geturl()


def parse_redirect_uri(uri: str) -> RedirectTarget:
    """The redirect must come back to this machine over plain http: it is our own listener."""
    fix = "must be a loopback http URL with a port and path, e.g. " + DEFAULT_REDIRECT_URI
    parts = split_url("AZURE_REDIRECT_URI", uri, fix)
    if parts.scheme != "http" or not parts.hostname or not is_loopback_host(parts.hostname):
        raise ConfigError("AZURE_REDIRECT_URI", uri, fix)
    try:
        port = parts.port
    except ValueError:
        raise ConfigError("AZURE_REDIRECT_URI", uri, fix) from None
    if port is None or not parts.path or parts.path == "/" or parts.query or parts.fragment:
        raise ConfigError("AZURE_REDIRECT_URI", uri, fix)
    return RedirectTarget(uri=uri, host=parts.hostname, port=port, path=parts.path)


def is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_socket_path(path: Path) -> None:
    problem = socket_path_problem(path)
    if problem:
        raise ConfigError("CWAY_MCP_SOCKET", str(path), problem)


def split_url(name: str, url: str, fix: str) -> SplitResult:
    """``urlsplit`` that turns a malformed URL (bad IPv6 brackets, port out of range) into a ConfigError
    and refuses credentials in it: they would be echoed in messages and sent where no one expects."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0-65535
    except ValueError:
        raise ConfigError(name, url, fix) from None
    if parts.username is not None or parts.password is not None:
        shown = parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()
        raise ConfigError(name, shown, "must not carry a user name or password; Cway is reached with bearer tokens")
    return parts


def require_url(name: str, url: str, what: str) -> None:
    parts = split_url(name, url, f"must be {what}")
    ok = parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(parts.hostname or ""))
    if not ok or not parts.netloc:
        raise ConfigError(name, url, f"must be {what}")


def require_ws_url(name: str, url: str) -> None:
    """Like :func:`require_url` for WebSockets: the bearer travels on it, so wss, or ws on loopback."""
    fix = "must be a wss:// URL (ws:// only on loopback), e.g. wss://app.cway.se/graphql"
    parts = split_url(name, url, fix)
    ok = parts.scheme == "wss" or (parts.scheme == "ws" and is_loopback_host(parts.hostname or ""))
    if not ok or not parts.netloc:
        raise ConfigError(name, url, fix)


def path_value(v: dict[str, str], name: str) -> Path | None:
    raw = v.get(name)
    if raw is None:
        return None
    try:
        return Path(raw).expanduser()
    except RuntimeError:  # ~someone whose home directory cannot be found
        raise ConfigError(
            name, raw, "names a home directory (~user) that does not exist; use an absolute path"
        ) from None


def choice_value(v: dict[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = v.get(name, default).lower()
    if value not in allowed:
        raise ConfigError(name, v.get(name), f"must be one of: {', '.join(allowed)}")
    return value


def count_value(v: dict[str, str], name: str, default: int) -> int:
    raw = v.get(name)
    if raw is None:
        return default
    if not raw.strip().isdigit() or int(raw) < 1:
        raise ConfigError(name, raw, "must be a whole number, at least 1")
    return int(raw)


def int_value(v: dict[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = v.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, raw, "must be a whole number of seconds") from None
    if value < minimum:
        raise ConfigError(name, raw, f"must be at least {minimum}")
    return value


def float_value(v: dict[str, str], name: str, default: float) -> float:
    raw = v.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, raw, "must be a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(name, raw, "must be a finite number of seconds greater than 0")
    return value


def bool_value(v: dict[str, str], name: str, default: bool) -> bool:
    raw = v.get(name)
    if raw is None:
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(name, raw, "must be 1 or 0 (true/false)")


def toolsets_value(v: dict[str, str], name: str = "CWAY_TOOLSETS") -> tuple[tuple[str, ...], bool]:
    """``CWAY_TOOLSETS`` as (toolsets listed in full, whether the default set is on too).

    Unset: the default set alone. ``all``: every toolset. Otherwise a comma (or space) list of
    toolset names, optionally with ``default``; an unknown name is an error naming the valid ones,
    so a typo never silently leaves a person without the tools they asked for.
    """
    raw = v.get(name)
    if raw is None:
        return (), True
    words = [w for w in raw.replace(",", " ").lower().split() if w]
    valid = (ALL_TOOLSETS, DEFAULT_TOOLSET, *TOOLSET_NAMES)
    unknown = [w for w in words if w not in valid]
    if unknown or not words:
        what = f"unknown toolset {', '.join(repr(w) for w in unknown)}; " if unknown else ""
        raise ConfigError(name, raw, f"{what}use a comma list of: {', '.join(valid)}")
    if ALL_TOOLSETS in words:
        return TOOLSET_NAMES, False
    listed = tuple(t for t in TOOLSET_NAMES if t in words)
    return listed, DEFAULT_TOOLSET in words
