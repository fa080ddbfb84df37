"""The effective settings a person needs to see, with where each came from.

``cway-auth doctor`` and ``cway-auth status`` print these rows, so that a stray
``AZURE_CLIENT_ID`` from another tool's environment is visible at a glance (and warned about,
see ``Settings.warnings``). Nothing secret is ever a row.
"""

from __future__ import annotations

from dataclasses import dataclass

from cway_contract.config import Settings
from cway_contract.discovery import daemon_socket


@dataclass(frozen=True)
class SettingRow:
    label: str
    name: str
    value: str
    source: str

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "value": self.value, "source": self.source}


def _exchange_shape(settings: Settings) -> str:
    if settings.auth_flow == "direct":
        return "direct: the IdP's access token is the Cway bearer (refreshed at the IdP)"
    what = {
        "code": "the Entra authorization code (Cway redeems it)",
        "access_token": "an Entra access token",
        "id_token": "an Entra ID token",
    }.get(settings.cway_exchange_token, settings.cway_exchange_token)
    silent = "; silent re-exchange on" if settings.silent_reexchange else ""
    return f"cway: {what} sent to {settings.cway_token_url}{silent}"


def _exchange_source(settings: Settings) -> str:
    """AUTH_FLOW and CWAY_EXCHANGE_TOKEN together decide the shape: name whichever was set."""
    flow, token = settings.origin("AUTH_FLOW"), settings.origin("CWAY_EXCHANGE_TOKEN")
    parts = [f"AUTH_FLOW: {flow}", f"CWAY_EXCHANGE_TOKEN: {token}"] if settings.auth_flow == "cway" else []
    return "; ".join(parts) if parts else f"AUTH_FLOW: {flow}"


def setting_rows(settings: Settings) -> list[SettingRow]:
    """tenant, client id, authority, Cway URL, token URL, exchange shape, socket, state dir, user."""
    socket = daemon_socket(settings)
    socket_source = str(settings.origin("CWAY_MCP_SOCKET"))
    if socket != settings.socket_path:
        socket_source = "the running daemon's record (daemon.json in the state dir)"
    elif not settings.socket_is_explicit:
        socket_source = "default (/run/user/<uid> if yours, else the state dir)"
    rows = [
        SettingRow("tenant", "AZURE_TENANT_ID", settings.azure_tenant_id or "(not set)", ""),
        SettingRow("client id", "AZURE_CLIENT_ID", settings.azure_client_id or "(not set)", ""),
        SettingRow("authority", "AZURE_AUTHORITY", settings.azure_authority, ""),
        SettingRow("Cway URL", "CWAY_API_URL", settings.cway_api_url, ""),
        SettingRow("token URL", "CWAY_TOKEN_URL", settings.cway_token_url, ""),
        SettingRow("exchange", "CWAY_EXCHANGE_TOKEN", _exchange_shape(settings), _exchange_source(settings)),
        SettingRow("socket", "CWAY_MCP_SOCKET", str(socket), socket_source),
        SettingRow("state dir", "CWAY_MCP_STATE_DIR", str(settings.state_dir), ""),
        SettingRow("username", "CWAY_USERNAME", settings.cway_username or "(not set)", ""),
    ]
    derived = {"AZURE_AUTHORITY": "AZURE_TENANT_ID", "CWAY_TOKEN_URL": "CWAY_API_URL"}
    out = []
    for row in rows:
        source = row.source or str(settings.origin(row.name))
        if source == "default" and row.name in derived and settings.origin(derived[row.name]).source != "default":
            source = f"derived from {derived[row.name]}"
        out.append(SettingRow(row.label, row.name, row.value, source))
    return out


def format_rows(rows: list[SettingRow], indent: str = "  ") -> list[str]:
    width = max(len(row.label) for row in rows) + 1
    return [f"{indent}{(row.label + ':').ljust(width)} {row.value}  [{row.source}]" for row in rows]
