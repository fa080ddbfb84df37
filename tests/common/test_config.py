"""The one configuration loader: precedence, defaults, and one clear line for every mistake."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from cway_contract import contract
from cway_contract.config import ConfigError, derive_token_url, load_settings

BASE = {"AZURE_CLIENT_ID": "client-123", "AZURE_TENANT_ID": "organizations", "CWAY_MCP_CONFIG": ""}


def load(env: dict[str, str], tmp_path: Path, component: str = "daemon"):  # type: ignore[no-untyped-def]
    return load_settings({**BASE, **env}, component=component, cwd=tmp_path)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No real user config file may leak into these tests.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setattr(contract, "RUN_USER_ROOT", tmp_path / "run-user")


def test_defaults_follow_the_seed(tmp_path: Path) -> None:
    s = load({}, tmp_path)
    assert s.auth_method == "oauth2"
    assert s.auth_flow == "cway"
    assert s.cway_api_url == "https://app.cway.se/graphql"
    assert s.cway_token_url == "https://app.cway.se/oauth/token"
    assert s.redirect.uri == "http://localhost:8765/callback"
    assert (s.redirect.host, s.redirect.port, s.redirect.path) == ("localhost", 8765, "/callback")
    assert s.azure_authority == "https://login.microsoftonline.com/organizations/v2.0"
    assert s.discovery_url.endswith("/organizations/v2.0/.well-known/openid-configuration")
    assert s.azure_scopes == ("openid", "profile", "email", "User.Read")
    assert s.refresh_threshold_seconds == 300
    # No /run/user/<uid> here (see _isolated_config): the socket lives under the state dir,
    # whatever XDG_RUNTIME_DIR says.
    assert s.socket_path == s.state_dir / "run" / "daemon.sock"


def test_the_daemon_needs_a_tenant_or_an_explicit_multi_tenant_authority(tmp_path: Path) -> None:
    # Unset used to mean "organizations", which the single-tenant registration the docs recommend refuses.
    with pytest.raises(ConfigError, match=r"^AZURE_TENANT_ID=unset: .*'organizations' / 'common'.*AADSTS50194"):
        load({"AZURE_TENANT_ID": ""}, tmp_path)
    assert load({"AZURE_TENANT_ID": "common"}, tmp_path).azure_authority.endswith("/common/v2.0")
    explicit = load({"AZURE_TENANT_ID": "", "AZURE_AUTHORITY": "https://idp.example/t/v2.0"}, tmp_path)
    assert explicit.azure_authority == "https://idp.example/t/v2.0"
    assert load({"AZURE_TENANT_ID": ""}, tmp_path, "shim").auth_method == "oauth2"  # only the daemon signs in


def test_exchange_shape_and_silent_reexchange_settings(tmp_path: Path) -> None:
    assert load({}, tmp_path).cway_exchange_token == "code" and not load({}, tmp_path).silent_reexchange
    s = load({"CWAY_EXCHANGE_TOKEN": "access_token"}, tmp_path)
    assert s.cway_exchange_token == "access_token" and s.silent_reexchange
    assert not load({"CWAY_EXCHANGE_TOKEN": "id_token", "CWAY_SILENT_REEXCHANGE": "0"}, tmp_path).silent_reexchange
    with pytest.raises(ConfigError, match=r"^CWAY_EXCHANGE_TOKEN='jwt': must be one of: code, access_token, id_token"):
        load({"CWAY_EXCHANGE_TOKEN": "jwt"}, tmp_path)
    with pytest.raises(ConfigError, match=r"^AZURE_SCOPES=.*remove api://cway/user_impersonation"):
        load({"CWAY_EXCHANGE_TOKEN": "access_token", "AZURE_SCOPES": "openid api://cway/user_impersonation"}, tmp_path)
    with pytest.raises(ConfigError, match=r"^CWAY_EXCHANGE_TOKEN='id_token': applies to AUTH_FLOW=cway only"):
        load({"CWAY_EXCHANGE_TOKEN": "id_token", "AUTH_FLOW": "direct", "AZURE_SCOPES": "openid api://c/x"}, tmp_path)


def test_tenant_goes_into_the_default_authority(tmp_path: Path) -> None:
    s = load({"AZURE_TENANT_ID": "contoso-tenant"}, tmp_path)
    assert s.azure_authority == "https://login.microsoftonline.com/contoso-tenant/v2.0"


def test_token_url_is_derived_from_the_origin_not_appended_to_graphql() -> None:
    assert derive_token_url("https://app.cway.se/graphql") == "https://app.cway.se/oauth/token"
    assert derive_token_url("http://127.0.0.1:9000/api/graphql") == "http://127.0.0.1:9000/oauth/token"


def test_environment_beats_dotenv_beats_toml(tmp_path: Path) -> None:
    toml = tmp_path / "cfg.toml"
    toml.write_text('cway_username = "toml@x"\nAZURE_SCOPES = "openid toml"\nCWAY_REFRESH_THRESHOLD_SECONDS = 120\n')
    (tmp_path / ".env").write_text("CWAY_USERNAME=dotenv@x\nAZURE_SCOPES=openid dotenv\n")
    s = load({"CWAY_MCP_CONFIG": str(toml), "CWAY_USERNAME": "env@x"}, tmp_path)
    assert s.cway_username == "env@x"
    assert s.azure_scopes == ("openid", "dotenv")
    assert s.refresh_threshold_seconds == 120
    assert s.sources == (str(toml), str(tmp_path / ".env"), "environment")


def test_default_toml_location_is_read(tmp_path: Path) -> None:
    cfg = tmp_path / "xdg-config" / "cway-mcp"
    cfg.mkdir(parents=True)
    (cfg / "config.toml").write_text('AUTH_FLOW = "direct"\nAZURE_SCOPES = "openid profile email api://cway/x"\n')
    assert load({}, tmp_path).auth_flow == "direct"


@pytest.mark.parametrize(
    ("env", "component", "setting", "hint"),
    [
        ({"AZURE_CLIENT_ID": ""}, "daemon", "AZURE_CLIENT_ID", "client id"),
        ({"AUTH_METHOD": "static"}, "shim", "CWAY_API_TOKEN", "API token"),
        ({"AUTH_METHOD": "magic"}, "shim", "AUTH_METHOD", "static, oauth2"),
        ({"AUTH_FLOW": "sideways"}, "daemon", "AUTH_FLOW", "cway, direct"),
        ({"AZURE_REDIRECT_URI": "https://localhost:8765/callback"}, "daemon", "AZURE_REDIRECT_URI", "loopback http"),
        ({"AZURE_REDIRECT_URI": "http://evil.example:8765/callback"}, "daemon", "AZURE_REDIRECT_URI", "loopback"),
        ({"AZURE_REDIRECT_URI": "http://localhost/callback"}, "daemon", "AZURE_REDIRECT_URI", "port"),
        ({"AZURE_REDIRECT_URI": "http://localhost:8765"}, "daemon", "AZURE_REDIRECT_URI", "path"),
        ({"CWAY_API_URL": "http://app.cway.se/graphql"}, "shim", "CWAY_API_URL", "GraphQL endpoint"),
        ({"AZURE_AUTHORITY": "ftp://idp"}, "daemon", "AZURE_AUTHORITY", "issuer"),
        ({"AZURE_SCOPES": "profile email"}, "daemon", "AZURE_SCOPES", "openid"),
        ({"CWAY_REFRESH_THRESHOLD_SECONDS": "soon"}, "daemon", "CWAY_REFRESH_THRESHOLD_SECONDS", "whole number"),
        ({"CWAY_REFRESH_THRESHOLD_SECONDS": "0"}, "daemon", "CWAY_REFRESH_THRESHOLD_SECONDS", "at least 1"),
        ({"CWAY_MCP_SOCKET": "relative.sock"}, "daemon", "CWAY_MCP_SOCKET", "absolute"),
        ({"CWAY_MCP_SOCKET": "/" + "s" * 120}, "daemon", "CWAY_MCP_SOCKET", "shorter"),
        ({"CWAY_MCP_AUTOSTART": "maybe"}, "shim", "CWAY_MCP_AUTOSTART", "1 or 0"),
        ({"CWAY_MCP_CONFIG": "/nonexistent/cway.toml"}, "cli", "CWAY_MCP_CONFIG", "no such file"),
        ({"AUTH_METHOD": "static", "CWAY_API_TOKEN": "x"}, "daemon", "AUTH_METHOD", "needs no daemon"),
        # malformed URLs used to escape as a bare ValueError (a traceback instead of one line)
        ({"CWAY_API_URL": "https://[::1/graphql"}, "shim", "CWAY_API_URL", "GraphQL endpoint"),
        ({"CWAY_API_URL": "https://app.cway.se:99999/graphql"}, "shim", "CWAY_API_URL", "GraphQL endpoint"),
        ({"CWAY_TOKEN_URL": "https://[x/oauth/token"}, "daemon", "CWAY_TOKEN_URL", "token endpoint"),
        ({"CWAY_WS_URL": "wss://[::1"}, "shim", "CWAY_WS_URL", "wss://"),
        ({"AZURE_AUTHORITY": "https://[x"}, "daemon", "AZURE_AUTHORITY", "issuer"),
        ({"AZURE_REDIRECT_URI": "http://[::1/callback"}, "daemon", "AZURE_REDIRECT_URI", "loopback http"),
        ({"CWAY_MCP_HTTP_TIMEOUT": "nan"}, "shim", "CWAY_MCP_HTTP_TIMEOUT", "finite"),
        ({"CWAY_MCP_HTTP_TIMEOUT": "inf"}, "shim", "CWAY_MCP_HTTP_TIMEOUT", "finite"),
        ({"CWAY_MCP_STATE_DIR": "~no-such-user-here/state"}, "daemon", "CWAY_MCP_STATE_DIR", "absolute path"),
        ({"CWAY_MCP_SOCKET": "~no-such-user-here/d.sock"}, "shim", "CWAY_MCP_SOCKET", "absolute path"),
    ],
)
def test_every_mistake_is_one_line_naming_setting_and_fix(
    env: dict[str, str], component: str, setting: str, hint: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as info:
        load(env, tmp_path, component)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{setting}=")
    assert hint in message
    assert info.value.setting == setting


@pytest.mark.parametrize("setting", ["CWAY_API_URL", "CWAY_TOKEN_URL", "AZURE_AUTHORITY", "CWAY_WS_URL"])
def test_credentials_in_a_url_are_refused_and_not_echoed(tmp_path: Path, setting: str) -> None:
    scheme = "wss" if setting == "CWAY_WS_URL" else "https"
    with pytest.raises(ConfigError) as info:
        load({setting: f"{scheme}://user:hunter2@app.cway.se/graphql"}, tmp_path)
    message = str(info.value)
    assert info.value.setting == setting and "hunter2" not in message and "\n" not in message
    assert (
        message.startswith(f"{setting}='{scheme}://***@app.cway.se/graphql': ") and "user name or password" in message
    )


@pytest.mark.parametrize("component", ["daemon", "shim", "cli"])
@pytest.mark.parametrize(
    "scopes",
    [
        "openid profile email User.Read",  # the default: a Microsoft Graph token
        "openid profile email offline_access",  # no resource at all: Entra still issues a Graph token
        "openid https://graph.microsoft.com/User.Read",
        "openid 00000003-0000-0000-c000-000000000000/User.Read",
    ],
)
def test_direct_flow_refuses_scopes_that_only_get_a_graph_token(tmp_path: Path, scopes: str, component: str) -> None:
    env = {"AUTH_FLOW": "direct"} | ({"AZURE_SCOPES": scopes} if scopes != "openid profile email User.Read" else {})
    with pytest.raises(ConfigError) as info:
        load(env, tmp_path, component)
    message = str(info.value)
    assert "\n" not in message and info.value.setting == "AZURE_SCOPES"
    assert message.startswith(f"AZURE_SCOPES={scopes!r}: ")
    assert "api://<cway app id>/user_impersonation" in message and "AUTH_FLOW=direct" in message


def test_direct_flow_refuses_graph_scopes_next_to_the_cway_scope(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load({"AUTH_FLOW": "direct", "AZURE_SCOPES": "openid User.Read api://cway/user_impersonation"}, tmp_path)
    assert info.value.setting == "AZURE_SCOPES" and "remove User.Read" in str(info.value)
    assert "AADSTS28000" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "scopes",
    [
        "openid profile email api://cway/user_impersonation",
        "openid api://11111111-2222-3333-4444-555555555555/.default offline_access",
        "openid profile email cway.read",  # Okta-style custom scope on another IdP
    ],
)
def test_direct_flow_accepts_a_resource_scope(tmp_path: Path, scopes: str) -> None:
    s = load({"AUTH_FLOW": "direct", "AZURE_SCOPES": scopes}, tmp_path)
    assert s.auth_flow == "direct" and s.azure_scopes == tuple(scopes.split())


def test_graph_scopes_are_fine_outside_the_direct_flow(tmp_path: Path) -> None:
    assert load({"AUTH_FLOW": "cway"}, tmp_path).azure_scopes == ("openid", "profile", "email", "User.Read")
    static = load({"AUTH_METHOD": "static", "AUTH_FLOW": "direct", "CWAY_API_TOKEN": "t"}, tmp_path, "shim")
    assert static.auth_method == "static"


def test_shim_does_not_need_the_entra_client_id(tmp_path: Path) -> None:
    s = load({"AZURE_CLIENT_ID": ""}, tmp_path, "shim")
    assert s.azure_client_id is None


def test_secret_values_are_never_echoed(tmp_path: Path) -> None:
    toml = tmp_path / "bad.toml"
    toml.write_text('CWAY_MCP_STORE_KEY = ["not", "a", "string"]\n')
    with pytest.raises(ConfigError) as info:
        load({"CWAY_MCP_CONFIG": str(toml)}, tmp_path)
    assert "not" not in str(info.value).split(":", 1)[0]
    s = load({"AUTH_METHOD": "static", "CWAY_API_TOKEN": "s3cr3t-value"}, tmp_path, "shim")
    assert "s3cr3t-value" not in repr(s)
    assert s.cway_api_token is not None and s.cway_api_token.get_secret_value() == "s3cr3t-value"


def test_unknown_toml_key_is_refused(tmp_path: Path) -> None:
    toml = tmp_path / "cfg.toml"
    toml.write_text('AZURE_CLIENT_IDD = "typo"\n')
    with pytest.raises(ConfigError, match=r"^AZURE_CLIENT_IDD=\(set\): unknown setting in "):
        load({"CWAY_MCP_CONFIG": str(toml)}, tmp_path)


def test_broken_toml_is_one_clear_line(tmp_path: Path) -> None:
    toml = tmp_path / "cfg.toml"
    toml.write_text("AUTH_FLOW = \n")
    with pytest.raises(ConfigError, match="cannot read this TOML file"):
        load({"CWAY_MCP_CONFIG": str(toml)}, tmp_path)


def test_loopback_http_is_allowed_for_the_emulator(tmp_path: Path) -> None:
    s = load(
        {"AZURE_AUTHORITY": "http://127.0.0.1:5000/t/v2.0/", "CWAY_API_URL": "http://localhost:5001/graphql"},
        tmp_path,
    )
    assert s.azure_authority == "http://127.0.0.1:5000/t/v2.0"
    assert s.cway_token_url == "http://localhost:5001/oauth/token"


def test_websocket_url_is_derived_from_the_api_url_and_validated(tmp_path: Path) -> None:
    assert load({}, tmp_path).cway_ws_url == "wss://app.cway.se/graphql"
    assert load({"CWAY_API_URL": "http://127.0.0.1:5001/graphql"}, tmp_path).cway_ws_url == (
        "ws://127.0.0.1:5001/graphql"
    )
    explicit = load({"CWAY_WS_URL": "wss://push.cway.example/subscriptions"}, tmp_path, "shim")
    assert explicit.cway_ws_url == "wss://push.cway.example/subscriptions"
    for bad in ("ws://app.cway.se/graphql", "https://app.cway.se/graphql", "wss://"):
        with pytest.raises(ConfigError) as info:
            load({"CWAY_WS_URL": bad}, tmp_path, "shim")
        message = str(info.value)
        assert "\n" not in message and message.startswith("CWAY_WS_URL=") and "wss://" in message


# ---- the socket rule ------------------------------------------------------------------------------


def test_the_socket_is_under_run_user_uid_when_that_dir_is_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Path(tempfile.mkdtemp(prefix="cw-run-", dir="/tmp"))  # short: socket paths hold 103 bytes
    monkeypatch.setattr(contract, "RUN_USER_ROOT", root)
    runtime = root / str(os.geteuid())
    runtime.mkdir(mode=0o700)
    s = load({}, tmp_path)
    assert s.socket_path == runtime / "cway-mcp" / "daemon.sock"
    assert not s.socket_is_explicit
    runtime.chmod(0o777)  # writable by others: not a private runtime dir
    assert load({}, tmp_path).socket_path == load({}, tmp_path).state_dir / "run" / "daemon.sock"
    shutil.rmtree(root)


def test_xdg_runtime_dir_does_not_move_the_socket(tmp_path: Path) -> None:
    with_var = load({"XDG_RUNTIME_DIR": str(tmp_path / "a")}, tmp_path)
    assert with_var.socket_path == load({}, tmp_path).socket_path


def test_an_explicit_socket_wins(tmp_path: Path) -> None:
    s = load({"CWAY_MCP_SOCKET": str(tmp_path / "s.sock")}, tmp_path)
    assert s.socket_path == tmp_path / "s.sock" and s.socket_is_explicit


# ---- provenance -----------------------------------------------------------------------------------


def test_each_value_says_where_it_came_from(tmp_path: Path) -> None:
    toml = tmp_path / "cfg.toml"
    toml.write_text('AZURE_TENANT_ID = "contoso"\n')
    (tmp_path / ".env").write_text("CWAY_API_URL=https://cway.example/graphql\n")
    s = load({"CWAY_MCP_CONFIG": str(toml), "AZURE_TENANT_ID": ""}, tmp_path)
    assert str(s.origin("AZURE_TENANT_ID")) == f"config file ({toml})"
    assert str(s.origin("CWAY_API_URL")) == f".env ({tmp_path / '.env'})"
    assert str(s.origin("AZURE_CLIENT_ID")) == "environment"
    assert str(s.origin("AZURE_AUTHORITY")) == "default"


def test_an_environment_value_overriding_a_different_file_value_is_warned_about(tmp_path: Path) -> None:
    toml = tmp_path / "cfg.toml"
    toml.write_text('AZURE_CLIENT_ID = "cway-app"\nAZURE_TENANT_ID = "contoso"\n')
    s = load(
        {"CWAY_MCP_CONFIG": str(toml), "AZURE_CLIENT_ID": "someone-elses-sp", "AZURE_TENANT_ID": "contoso"}, tmp_path
    )
    assert s.azure_client_id == "someone-elses-sp"
    assert len(s.warnings) == 1  # the same tenant in both places is no surprise
    assert s.warnings[0].startswith(
        f"AZURE_CLIENT_ID='someone-elses-sp' from the environment overrides AZURE_CLIENT_ID='cway-app' in {toml}"
    )
    assert "CWAY_AZURE_CLIENT_ID" in s.warnings[0]


def test_the_cway_prefixed_name_wins_over_both(tmp_path: Path) -> None:
    toml = tmp_path / "cfg.toml"
    toml.write_text('AZURE_CLIENT_ID = "from-file"\n')
    s = load({"CWAY_MCP_CONFIG": str(toml), "AZURE_CLIENT_ID": "stray", "CWAY_AZURE_CLIENT_ID": "cway-app"}, tmp_path)
    assert s.azure_client_id == "cway-app"
    assert s.warnings == ()
    assert str(s.origin("AZURE_CLIENT_ID")) == "environment as CWAY_AZURE_CLIENT_ID"
    toml.write_text('CWAY_AZURE_CLIENT_ID = "in-file"\n')  # in the file too, and it still wins
    assert load({"CWAY_MCP_CONFIG": str(toml), "AZURE_CLIENT_ID": "stray"}, tmp_path).azure_client_id == "in-file"


def test_an_empty_variable_does_not_hide_the_file_value(tmp_path: Path) -> None:
    toml = tmp_path / "cfg.toml"
    toml.write_text('AZURE_TENANT_ID = "contoso"\n')
    s = load({"CWAY_MCP_CONFIG": str(toml), "AZURE_TENANT_ID": "", "CWAY_AZURE_TENANT_ID": "  "}, tmp_path)
    assert s.azure_tenant_id == "contoso"
    assert s.origin("AZURE_TENANT_ID").source == "config file"
