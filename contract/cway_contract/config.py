"""The one configuration loader, used by the daemon, the shim and the CLI.

Sources, strongest first: the process environment, a ``.env`` file in the working directory,
and a TOML file (``$CWAY_MCP_CONFIG``, default ``<user config dir>/config.toml``). The TOML
file takes the same names as the environment (``AZURE_CLIENT_ID = "..."``), in any case.

Every setting whose name does not start with ``CWAY_`` (``AZURE_CLIENT_ID``, ``AUTH_FLOW``, ...)
may also be given as ``CWAY_<name>`` (``CWAY_AZURE_CLIENT_ID``), and that name wins over the plain
one from any source: ``AZURE_CLIENT_ID`` / ``AZURE_TENANT_ID`` are also the Azure SDK's
service-principal variables, so a stray one in a shell must be overridable without unsetting it.
An empty value counts as unset, so it never hides a value from a weaker source. Each effective
value remembers where it came from (:class:`Origin`), and an environment value that overrides a
*different* config-file value of a shared (non-``CWAY_``) name is reported in ``Settings.warnings``.

Every problem is reported as one :class:`ConfigError` line naming the setting, the bad value
(never a secret) and the fix, so that the CLI can print it without a traceback.
"""

# The parts live in small modules (names, error, sources, model, values); this module is the loader and the
# public import path: everything other code imports from ``cway_contract.config`` is re-exported here.

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import platformdirs
from pydantic import SecretStr

from cway_contract.config_error import ConfigError
from cway_contract.config_model import RedirectTarget, Settings
from cway_contract.config_names import (
    DEFAULT_API_URL,
    DEFAULT_REDIRECT_URI,
    DEFAULT_REFRESH_CONCURRENCY,
    DEFAULT_SCOPES,
    DEFAULT_STOP_TIMEOUT_SECONDS,
    DEFAULT_THRESHOLD_SECONDS,
    EXCHANGE_TOKENS,
    GRAPH_APP_ID,
    KNOWN_SETTINGS,
    MULTI_TENANT_AUTHORITIES,
    OIDC_SCOPES,
    ORG_TOKEN_PREFIX,
    PREFIXED_ALIASES,
    SECRET_SETTINGS,
    AuthFlow,
    AuthMethod,
    Component,
    ExchangeToken,
    is_org_token_setting,
)
from cway_contract.config_sources import Origin, SourceKind, default_config_file, merge_layers, read_layers
from cway_contract.config_values import (
    bool_value,
    check_direct_scopes,
    check_graph_scopes,
    check_socket_path,
    choice_value,
    count_value,
    derive_token_url,
    derive_ws_url,
    float_value,
    int_value,
    is_graph_scope,
    is_loopback_host,
    parse_redirect_uri,
    path_value,
    require_url,
    require_ws_url,
    toolsets_value,
)
from cway_contract.contract import APP_NAME, default_socket_path

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_REDIRECT_URI",
    "DEFAULT_REFRESH_CONCURRENCY",
    "DEFAULT_SCOPES",
    "DEFAULT_STOP_TIMEOUT_SECONDS",
    "DEFAULT_THRESHOLD_SECONDS",
    "EXCHANGE_TOKENS",
    "GRAPH_APP_ID",
    "KNOWN_SETTINGS",
    "MULTI_TENANT_AUTHORITIES",
    "OIDC_SCOPES",
    "ORG_TOKEN_PREFIX",
    "PREFIXED_ALIASES",
    "SECRET_SETTINGS",
    "AuthFlow",
    "AuthMethod",
    "Component",
    "ConfigError",
    "ExchangeToken",
    "Origin",
    "RedirectTarget",
    "Settings",
    "SourceKind",
    "default_config_file",
    "derive_token_url",
    "derive_ws_url",
    "is_graph_scope",
    "is_loopback_host",
    "is_org_token_setting",
    "load_settings",
    "load_values",
    "parse_redirect_uri",
    "stop_timeout_value",
]


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    component: Component = "cli",
    cwd: Path | None = None,
) -> Settings:
    """Merge the three sources and validate them for ``component``.

    The shim and CLI need not know the Entra client id (the daemon does the sign-in), so the
    ``AZURE_CLIENT_ID`` requirement only applies to the daemon.
    """
    layers = read_layers(os.environ if env is None else env, cwd or Path.cwd())
    values, origins, warnings = merge_layers(layers)
    sources = tuple(layer.path or layer.source for layer in layers)
    return _validate(values, component, sources, origins, warnings)


def stop_timeout_value(v: Mapping[str, str]) -> int:
    """``CWAY_STOP_TIMEOUT_SECONDS``: the one setting behind the unit's stop timeout and the daemon's
    shutdown budget (also read alone by ``cway-auth service install``, which needs no other setting)."""
    return int_value(dict(v), "CWAY_STOP_TIMEOUT_SECONDS", DEFAULT_STOP_TIMEOUT_SECONDS, minimum=10)


def load_values(env: Mapping[str, str] | None = None, *, cwd: Path | None = None) -> dict[str, str]:
    """The merged raw values (same sources and precedence as :func:`load_settings`), for settings
    that only one component validates itself (``cway-mcp serve``'s ``CWAY_MCP_PUBLIC_URL``...)."""
    return merge_layers(read_layers(os.environ if env is None else env, cwd or Path.cwd()))[0]


def _validate(
    v: dict[str, str],
    component: Component,
    sources: tuple[str, ...],
    origins: Mapping[str, Origin],
    warnings: tuple[str, ...],
) -> Settings:
    auth_method = choice_value(v, "AUTH_METHOD", ("static", "oauth2"), "oauth2")
    auth_flow = choice_value(v, "AUTH_FLOW", ("cway", "direct"), "cway")

    api_url = v.get("CWAY_API_URL", DEFAULT_API_URL)
    require_url("CWAY_API_URL", api_url, "the Cway GraphQL endpoint, e.g. https://app.cway.se/graphql")
    token_url = v.get("CWAY_TOKEN_URL") or derive_token_url(api_url)
    require_url("CWAY_TOKEN_URL", token_url, "Cway's token endpoint, e.g. https://app.cway.se/oauth/token")
    ws_url = v.get("CWAY_WS_URL") or derive_ws_url(api_url)
    require_ws_url("CWAY_WS_URL", ws_url)

    api_token = v.get("CWAY_API_TOKEN")
    org_tokens = {k[len(ORG_TOKEN_PREFIX) :].lower(): SecretStr(t) for k, t in v.items() if is_org_token_setting(k)}
    if auth_method == "static" and component != "daemon" and not api_token and not org_tokens:
        raise ConfigError(
            "CWAY_API_TOKEN", None, "AUTH_METHOD=static needs a Cway API token; create one in Cway's settings"
        )
    if auth_method == "static" and component == "daemon":
        raise ConfigError("AUTH_METHOD", "static", "static mode needs no daemon; set AUTH_METHOD=oauth2 to run it")

    tenant = v.get("AZURE_TENANT_ID")
    client_id = v.get("AZURE_CLIENT_ID")
    daemon_oauth = auth_method == "oauth2" and component == "daemon"
    if daemon_oauth and not client_id:
        raise ConfigError(
            "AZURE_CLIENT_ID", None, "AUTH_METHOD=oauth2 needs the app registration's client id from Entra ID"
        )
    if daemon_oauth and not tenant and not v.get("AZURE_AUTHORITY"):
        raise ConfigError(
            "AZURE_TENANT_ID",
            None,
            "set the directory (tenant) id of the app registration, or 'organizations' / 'common' for a "
            "multi-tenant app (a single-tenant app refuses those: AADSTS50194)",
        )
    authority = v.get("AZURE_AUTHORITY") or f"https://login.microsoftonline.com/{tenant or 'organizations'}/v2.0"
    require_url("AZURE_AUTHORITY", authority, "the OIDC issuer URL (https, or http on loopback)")

    scopes = tuple(v.get("AZURE_SCOPES", DEFAULT_SCOPES).replace(",", " ").split())
    if "openid" not in scopes:
        raise ConfigError("AZURE_SCOPES", " ".join(scopes), "must include 'openid' (sign-in needs an ID token)")
    if auth_method == "oauth2" and auth_flow == "direct":
        check_direct_scopes(scopes)
    exchange = choice_value(v, "CWAY_EXCHANGE_TOKEN", EXCHANGE_TOKENS, "code")
    if exchange != "code" and auth_flow != "cway":
        raise ConfigError("CWAY_EXCHANGE_TOKEN", exchange, "applies to AUTH_FLOW=cway only; unset it for direct")
    if auth_method == "oauth2" and exchange == "access_token":
        check_graph_scopes(scopes)
    silent = bool_value(v, "CWAY_SILENT_REEXCHANGE", True) and exchange != "code"

    redirect = parse_redirect_uri(v.get("AZURE_REDIRECT_URI", DEFAULT_REDIRECT_URI))
    threshold = int_value(v, "CWAY_REFRESH_THRESHOLD_SECONDS", DEFAULT_THRESHOLD_SECONDS, minimum=1)
    timeout = float_value(v, "CWAY_MCP_HTTP_TIMEOUT", 30.0)
    concurrency = count_value(v, "CWAY_REFRESH_CONCURRENCY", DEFAULT_REFRESH_CONCURRENCY)
    stop_timeout = stop_timeout_value(v)

    state_dir = path_value(v, "CWAY_MCP_STATE_DIR") or Path(platformdirs.user_state_dir(APP_NAME))
    socket = path_value(v, "CWAY_MCP_SOCKET") or default_socket_path(state_dir)
    check_socket_path(socket)

    toolsets, default_tools = toolsets_value(v)

    level = v.get("CWAY_MCP_LOG_LEVEL", "INFO").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError("CWAY_MCP_LOG_LEVEL", level, "use DEBUG, INFO, WARNING or ERROR")

    return Settings(
        auth_method=auth_method,  # type: ignore[arg-type]
        auth_flow=auth_flow,  # type: ignore[arg-type]
        cway_api_url=api_url,
        cway_token_url=token_url,
        cway_ws_url=ws_url,
        cway_username=v.get("CWAY_USERNAME"),
        cway_api_token=SecretStr(api_token) if api_token else None,
        cway_org_tokens=org_tokens,
        azure_tenant_id=tenant,
        azure_client_id=client_id,
        azure_client_secret=SecretStr(v["AZURE_CLIENT_SECRET"]) if v.get("AZURE_CLIENT_SECRET") else None,
        azure_authority=authority.rstrip("/"),
        azure_scopes=scopes,
        redirect=redirect,
        refresh_threshold_seconds=threshold,
        state_dir=state_dir,
        socket_path=socket,
        store_key=SecretStr(v["CWAY_MCP_STORE_KEY"]) if v.get("CWAY_MCP_STORE_KEY") else None,
        autostart=bool_value(v, "CWAY_MCP_AUTOSTART", True),
        open_browser=bool_value(v, "CWAY_MCP_OPEN_BROWSER", True),
        log_level=level,
        http_timeout_seconds=timeout,
        cway_exchange_token=exchange,  # type: ignore[arg-type]
        silent_reexchange=silent,
        refresh_concurrency=concurrency,
        stop_timeout_seconds=stop_timeout,
        toolsets=toolsets,
        default_tools=default_tools,
        read_only=bool_value(v, "CWAY_READ_ONLY", False),
        sources=sources,
        origins=dict(origins),
        warnings=warnings,
    )
