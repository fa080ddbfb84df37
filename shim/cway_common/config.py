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

from __future__ import annotations

import ipaddress
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import SplitResult, urlsplit

import platformdirs
from dotenv import dotenv_values
from pydantic import SecretStr

from cway_common.contract import APP_NAME, default_socket_path, socket_path_problem

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
        "CWAY_MCP_STATE_DIR",
        "CWAY_MCP_SOCKET",
        "CWAY_MCP_STORE_KEY",
        "CWAY_MCP_AUTOSTART",
        "CWAY_MCP_OPEN_BROWSER",
        "CWAY_MCP_LOG_LEVEL",
        "CWAY_MCP_HTTP_TIMEOUT",
        # `cway-mcp serve` (the remote server) only; validated by cway_remote.settings
        "CWAY_MCP_PUBLIC_URL",
        "CWAY_MCP_DATABASE_URL",
        "CWAY_MCP_ACCESS_TOKEN_SECONDS",
    }
)


#: ``CWAY_AZURE_CLIENT_ID`` -> ``AZURE_CLIENT_ID``: the prefixed names that win over the plain ones.
PREFIXED_ALIASES = {f"CWAY_{name}": name for name in KNOWN_SETTINGS if not name.startswith("CWAY_")}
SourceKind = Literal["environment", ".env", "config file", "default"]


@dataclass(frozen=True)
class Origin:
    """Where one effective setting came from: the source, the name it was given under, the file."""

    source: SourceKind
    name: str | None = None
    path: str | None = None
    #: The raw value, kept only for settings that are not secret (for display).
    value: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        if self.source == "default":
            return "default"
        where = {
            "environment": "environment",
            ".env": f".env ({self.path})",
            "config file": f"config file ({self.path})",
        }
        return where[self.source] + (f" as {self.name}" if self.name in PREFIXED_ALIASES else "")


@dataclass(frozen=True)
class _Layer:
    source: SourceKind
    path: str | None
    values: Mapping[str, str]


class ConfigError(ValueError):
    """A configuration problem, worded as one line a person can act on."""

    def __init__(self, setting: str, value: str | None, fix: str, *, is_set: bool = False) -> None:
        """``value`` None reads "unset" unless ``is_set`` says it is set but not worth echoing."""
        if (setting in SECRET_SETTINGS and value) or (value is None and is_set):
            shown = "(set)"
        else:
            shown = repr(value) if value is not None else "unset"
        self.setting = setting
        self.fix = fix
        super().__init__(f"{setting}={shown}: {fix}")


@dataclass(frozen=True)
class RedirectTarget:
    """Where the daemon's loopback listener binds, derived from ``AZURE_REDIRECT_URI``."""

    uri: str
    host: str
    port: int
    path: str


@dataclass(frozen=True)
class Settings:
    auth_method: AuthMethod
    auth_flow: AuthFlow
    cway_api_url: str
    cway_token_url: str
    #: GraphQL subscriptions (graphql-transport-ws), e.g. the AI answers; Cway does not publish it.
    cway_ws_url: str
    cway_username: str | None
    cway_api_token: SecretStr | None
    azure_tenant_id: str | None
    azure_client_id: str | None
    azure_client_secret: SecretStr | None
    azure_authority: str
    azure_scopes: tuple[str, ...]
    redirect: RedirectTarget
    refresh_threshold_seconds: int
    state_dir: Path
    socket_path: Path
    store_key: SecretStr | None
    autostart: bool
    open_browser: bool
    log_level: str
    http_timeout_seconds: float
    #: ``CWAY_EXCHANGE_TOKEN``: the Entra code (Cway redeems it), or an Entra access / ID token.
    cway_exchange_token: ExchangeToken = "code"
    #: ``CWAY_SILENT_REEXCHANGE``: keep the Entra refresh token and exchange again when Cway's refresh fails.
    silent_reexchange: bool = False
    refresh_concurrency: int = DEFAULT_REFRESH_CONCURRENCY
    sources: tuple[str, ...] = field(default=())
    #: Setting name -> where its effective value came from (absent names are defaults).
    origins: Mapping[str, Origin] = field(default_factory=dict, hash=False, compare=False)
    #: One line each: an environment value that overrides a different config-file value.
    warnings: tuple[str, ...] = field(default=())
    #: AUTH_METHOD=static: more organisations' API tokens (``CWAY_TOKEN_<ORG>``), by lower-case name.
    cway_org_tokens: Mapping[str, SecretStr] = field(default_factory=dict, hash=False, compare=False)

    def origin(self, name: str) -> Origin:
        return self.origins.get(name, Origin("default"))

    @property
    def socket_is_explicit(self) -> bool:
        """``CWAY_MCP_SOCKET`` was set somewhere: then only that path counts (no discovery)."""
        return self.origin("CWAY_MCP_SOCKET").source != "default"

    @property
    def discovery_url(self) -> str:
        return self.azure_authority.rstrip("/") + "/.well-known/openid-configuration"


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
    layers = _layers(os.environ if env is None else env, cwd or Path.cwd())
    values, origins, warnings = _merge(layers)
    sources = tuple(layer.path or layer.source for layer in layers)
    return _validate(values, component, sources, origins, warnings)


def load_values(env: Mapping[str, str] | None = None, *, cwd: Path | None = None) -> dict[str, str]:
    """The merged raw values (same sources and precedence as :func:`load_settings`), for settings
    that only one component validates itself (``cway-mcp serve``'s ``CWAY_MCP_PUBLIC_URL``...)."""
    return _merge(_layers(os.environ if env is None else env, cwd or Path.cwd()))[0]


def _layers(env: Mapping[str, str], cwd: Path) -> list[_Layer]:
    """The sources that exist, weakest first: config file, .env, environment."""
    layers: list[_Layer] = []
    config_file = Path(env.get("CWAY_MCP_CONFIG") or default_config_file())
    if config_file.is_file():
        layers.append(_Layer("config file", str(config_file), _read_toml(config_file)))
    elif env.get("CWAY_MCP_CONFIG"):
        raise ConfigError("CWAY_MCP_CONFIG", str(config_file), "no such file; fix the path or unset it")
    dotenv_file = cwd / ".env"
    if dotenv_file.is_file():
        found = {k: v for k, v in dotenv_values(dotenv_file).items() if v is not None and _is_known(k)}
        layers.append(_Layer(".env", str(dotenv_file), found))
    layers.append(_Layer("environment", None, {k: v for k, v in env.items() if _is_known(k)}))
    return layers


def _is_known(name: str) -> bool:
    return name in KNOWN_SETTINGS or name in PREFIXED_ALIASES or is_org_token_setting(name)


#: ``CWAY_TOKEN_<ORG>``: a static API token of one more Cway organisation (AUTH_METHOD=static).
ORG_TOKEN_PREFIX = "CWAY_TOKEN_"


def is_org_token_setting(name: str) -> bool:
    """``CWAY_TOKEN_<ORG>`` (any organisation name) but not the known ``CWAY_TOKEN_URL``."""
    upper = name.upper()
    return upper.startswith(ORG_TOKEN_PREFIX) and len(upper) > len(ORG_TOKEN_PREFIX) and upper not in KNOWN_SETTINGS


def _merge(layers: list[_Layer]) -> tuple[dict[str, str], dict[str, Origin], tuple[str, ...]]:
    """Pick each setting's value: a ``CWAY_``-prefixed name from any source, else the strongest source.

    Empty (or blank) values are skipped, so ``AZURE_CLIENT_ID=`` never hides the config file's value.
    """
    values: dict[str, str] = {}
    origins: dict[str, Origin] = {}
    warnings: list[str] = []
    strongest_first = list(reversed(layers))
    for name in sorted(KNOWN_SETTINGS):
        names = ([f"CWAY_{name}"] if f"CWAY_{name}" in PREFIXED_ALIASES else []) + [name]
        picked = next(
            (
                (layer, given, layer.values[given].strip())
                for given in names
                for layer in strongest_first
                if layer.values.get(given, "").strip()
            ),
            None,
        )
        if picked is None:
            continue
        layer, given, value = picked
        values[name] = value
        origins[name] = Origin(layer.source, given, layer.path, None if name in SECRET_SETTINGS else value)
        if given == name and layer.source != "config file" and not name.startswith("CWAY_"):
            file_value = next((lay.values.get(name, "").strip() for lay in layers if lay.source == "config file"), "")
            if file_value and file_value != value:
                warnings.append(_override_warning(name, value, file_value, layer, layers[0].path))
    for name in sorted({n for layer in layers for n in layer.values if is_org_token_setting(n)}):
        holder = next((lay for lay in strongest_first if lay.values.get(name, "").strip()), None)
        if holder is not None:  # a secret: its origin never carries the value
            values[name] = holder.values[name].strip()
            origins[name] = Origin(holder.source, name, holder.path, None)
    return values, origins, tuple(warnings)


def _override_warning(name: str, value: str, file_value: str, layer: _Layer, config_path: str | None) -> str:
    secret = name in SECRET_SETTINGS
    shown, shown_file = ("(set)", "(set)") if secret else (repr(value), repr(file_value))
    where = "the environment" if layer.source == "environment" else f"{layer.path}"
    return (
        f"{name}={shown} from {where} overrides {name}={shown_file} in {config_path}; "
        f"unset it there (it may be meant for another tool, e.g. the Azure SDK), or set CWAY_{name}, which wins over both"
    )


def _read_toml(path: Path) -> dict[str, str]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError("CWAY_MCP_CONFIG", str(path), f"cannot read this TOML file ({exc})") from None
    out: dict[str, str] = {}
    for key, value in data.items():
        name = key.upper()
        if not _is_known(name):
            raise ConfigError(
                name, None, f"unknown setting in {path}; known: {', '.join(sorted(KNOWN_SETTINGS))}", is_set=True
            )
        if isinstance(value, bool):
            out[name] = "1" if value else "0"
        elif isinstance(value, str | int | float):
            out[name] = str(value)
        else:
            raise ConfigError(name, None, f"in {path} must be a string or number", is_set=True)
    return out


def _validate(
    v: dict[str, str],
    component: Component,
    sources: tuple[str, ...],
    origins: Mapping[str, Origin],
    warnings: tuple[str, ...],
) -> Settings:
    auth_method = _choice(v, "AUTH_METHOD", ("static", "oauth2"), "oauth2")
    auth_flow = _choice(v, "AUTH_FLOW", ("cway", "direct"), "cway")

    api_url = v.get("CWAY_API_URL", DEFAULT_API_URL)
    _require_url("CWAY_API_URL", api_url, "the Cway GraphQL endpoint, e.g. https://app.cway.se/graphql")
    token_url = v.get("CWAY_TOKEN_URL") or derive_token_url(api_url)
    _require_url("CWAY_TOKEN_URL", token_url, "Cway's token endpoint, e.g. https://app.cway.se/oauth/token")
    ws_url = v.get("CWAY_WS_URL") or derive_ws_url(api_url)
    _require_ws_url("CWAY_WS_URL", ws_url)

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
    _require_url("AZURE_AUTHORITY", authority, "the OIDC issuer URL (https, or http on loopback)")

    scopes = tuple(v.get("AZURE_SCOPES", DEFAULT_SCOPES).replace(",", " ").split())
    if "openid" not in scopes:
        raise ConfigError("AZURE_SCOPES", " ".join(scopes), "must include 'openid' (sign-in needs an ID token)")
    if auth_method == "oauth2" and auth_flow == "direct":
        _check_direct_scopes(scopes)
    exchange = _choice(v, "CWAY_EXCHANGE_TOKEN", EXCHANGE_TOKENS, "code")
    if exchange != "code" and auth_flow != "cway":
        raise ConfigError("CWAY_EXCHANGE_TOKEN", exchange, "applies to AUTH_FLOW=cway only; unset it for direct")
    if auth_method == "oauth2" and exchange == "access_token":
        _check_graph_scopes(scopes)
    silent = _bool(v, "CWAY_SILENT_REEXCHANGE", True) and exchange != "code"

    redirect = parse_redirect_uri(v.get("AZURE_REDIRECT_URI", DEFAULT_REDIRECT_URI))
    threshold = _int(v, "CWAY_REFRESH_THRESHOLD_SECONDS", DEFAULT_THRESHOLD_SECONDS, minimum=1)
    timeout = _float(v, "CWAY_MCP_HTTP_TIMEOUT", 30.0)
    concurrency = _count(v, "CWAY_REFRESH_CONCURRENCY", DEFAULT_REFRESH_CONCURRENCY)

    state_dir = _path(v, "CWAY_MCP_STATE_DIR") or Path(platformdirs.user_state_dir(APP_NAME))
    socket = _path(v, "CWAY_MCP_SOCKET") or default_socket_path(state_dir)
    _check_socket_path(socket)

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
        autostart=_bool(v, "CWAY_MCP_AUTOSTART", True),
        open_browser=_bool(v, "CWAY_MCP_OPEN_BROWSER", True),
        log_level=level,
        http_timeout_seconds=timeout,
        cway_exchange_token=exchange,  # type: ignore[arg-type]
        silent_reexchange=silent,
        refresh_concurrency=concurrency,
        sources=sources,
        origins=dict(origins),
        warnings=warnings,
    )


def is_graph_scope(scope: str) -> bool:
    """A Microsoft Graph scope as cway-mcp is configured with it (``User.Read`` or fully qualified)."""
    low = scope.lower()
    return low == "user.read" or low.startswith(("https://graph.microsoft.com/", GRAPH_APP_ID + "/"))


def _check_direct_scopes(scopes: tuple[str, ...]) -> None:
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


def _check_graph_scopes(scopes: tuple[str, ...]) -> None:
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
    parts = _split_url("AZURE_REDIRECT_URI", uri, fix)
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


def default_config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def _check_socket_path(path: Path) -> None:
    problem = socket_path_problem(path)
    if problem:
        raise ConfigError("CWAY_MCP_SOCKET", str(path), problem)


def _split_url(name: str, url: str, fix: str) -> SplitResult:
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


def _require_url(name: str, url: str, what: str) -> None:
    parts = _split_url(name, url, f"must be {what}")
    ok = parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(parts.hostname or ""))
    if not ok or not parts.netloc:
        raise ConfigError(name, url, f"must be {what}")


def _require_ws_url(name: str, url: str) -> None:
    """Like :func:`_require_url` for WebSockets: the bearer travels on it, so wss, or ws on loopback."""
    fix = "must be a wss:// URL (ws:// only on loopback), e.g. wss://app.cway.se/graphql"
    parts = _split_url(name, url, fix)
    ok = parts.scheme == "wss" or (parts.scheme == "ws" and is_loopback_host(parts.hostname or ""))
    if not ok or not parts.netloc:
        raise ConfigError(name, url, fix)


def _path(v: dict[str, str], name: str) -> Path | None:
    raw = v.get(name)
    if raw is None:
        return None
    try:
        return Path(raw).expanduser()
    except RuntimeError:  # ~someone whose home directory cannot be found
        raise ConfigError(
            name, raw, "names a home directory (~user) that does not exist; use an absolute path"
        ) from None


def _choice(v: dict[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = v.get(name, default).lower()
    if value not in allowed:
        raise ConfigError(name, v.get(name), f"must be one of: {', '.join(allowed)}")
    return value


def _count(v: dict[str, str], name: str, default: int) -> int:
    raw = v.get(name)
    if raw is None:
        return default
    if not raw.strip().isdigit() or int(raw) < 1:
        raise ConfigError(name, raw, "must be a whole number, at least 1")
    return int(raw)


def _int(v: dict[str, str], name: str, default: int, *, minimum: int) -> int:
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


def _float(v: dict[str, str], name: str, default: float) -> float:
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


def _bool(v: dict[str, str], name: str, default: bool) -> bool:
    raw = v.get(name)
    if raw is None:
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(name, raw, "must be 1 or 0 (true/false)")
