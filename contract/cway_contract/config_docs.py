"""Each setting's documented default and meaning: the one source of docs/configuration.md's settings table.

The loader validates the values (``config.py``); these words explain them. ``tests/docs_tables.py``
renders the table from here, and a test fails when a known setting has no entry or the docs drift.
A default written as one literal value (`` `30` ``) is held to the loaders by behaviour: loading it
set must equal loading it unset (``tests/common/test_documented_defaults.py``); the others are
derived values (another setting's origin, a platform path) and say so in words.
"""

from __future__ import annotations

from typing import NamedTuple


class SettingDoc(NamedTuple):
    name: str
    default: str
    meaning: str


#: In the order the docs show them.
SETTING_DOCS: tuple[SettingDoc, ...] = (
    SettingDoc(
        "AUTH_METHOD",
        "`oauth2`",
        "`oauth2`: per-user sign-in through the daemon. `static`: the old shared token, no daemon",
    ),
    SettingDoc("CWAY_API_TOKEN", "—", "the static bearer for `AUTH_METHOD=static` (created in Cway's settings)"),
    SettingDoc(
        "CWAY_TOKEN_<ORG>",
        "—",
        "`AUTH_METHOD=static`: the API token of one more organisation (a token acts in the organisation it was created in). `list_organisations` lists them (`default` = `CWAY_API_TOKEN`, `<org>` in lower case) and `switch_organisation` changes which one this MCP session sends. Either this or `CWAY_API_TOKEN` is required in static mode. Secrets: never shown by `cway-auth doctor` or in errors",
    ),
    SettingDoc("CWAY_USERNAME", "—", "which signed-in account the shim acts as; without it, the daemon's only account"),
    SettingDoc("CWAY_API_URL", "`https://app.cway.se/graphql`", "the Cway GraphQL endpoint"),
    SettingDoc(
        "CWAY_TOKEN_URL", "origin of `CWAY_API_URL` + `/oauth/token`", "Cway's token endpoint (exchange and refresh)"
    ),
    SettingDoc(
        "CWAY_WS_URL",
        "`CWAY_API_URL` with `https`→`wss` (`http`→`ws`)",
        "Cway's GraphQL subscription endpoint (`graphql-transport-ws`), used by the AI tools to receive answers; Cway does not publish it, so set it if it differs. `wss`, or `ws` on loopback only",
    ),
    SettingDoc(
        "AZURE_TENANT_ID",
        "— (required by the daemon unless `AZURE_AUTHORITY` is set)",
        "your Entra tenant id or domain; or `organizations` / `common` for a multi-tenant app registration (a single-tenant one refuses those with AADSTS50194). Goes into the default authority",
    ),
    SettingDoc("AZURE_CLIENT_ID", "— (required by the daemon)", "the app registration's client id"),
    SettingDoc("AZURE_CLIENT_SECRET", "—", "only for `AUTH_FLOW=direct` with a confidential client; normally unset"),
    SettingDoc(
        "AZURE_REDIRECT_URI",
        "`http://localhost:8765/callback`",
        "the daemon's loopback callback; must be loopback `http` with a port and a path",
    ),
    SettingDoc(
        "AZURE_AUTHORITY",
        "`https://login.microsoftonline.com/{AZURE_TENANT_ID}/v2.0`",
        "the OIDC issuer; endpoints come from its discovery document, so Okta, Google or Keycloak work too",
    ),
    SettingDoc(
        "AZURE_SCOPES",
        "`openid profile email User.Read`",
        "scopes asked for at sign-in; must include `openid`. With `AUTH_FLOW=direct` it must name Cway's API scope (e.g. `openid profile email api://<cway app id>/user_impersonation`) and no Graph scope: see [Direct mode](#direct-mode)",
    ),
    SettingDoc(
        "CWAY_EXCHANGE_TOKEN",
        "`code`",
        "what `grant_type=azure` sends Cway as `token` (Cway documents no contract): `code` (the Entra code, with `client_id`, `redirect_uri`, `code_verifier`: Cway redeems it), `access_token` (the daemon redeems the code itself and sends the Microsoft Graph access token; `User.Read` and `offline_access` are added to the scopes) or `id_token` (the Entra ID token). See [entra-setup](entra-setup.md#which-exchange-shape)",
    ),
    SettingDoc(
        "CWAY_SILENT_REEXCHANGE",
        "`1`",
        "with `access_token` / `id_token`: keep the Entra refresh token (encrypted in the record) and, when Cway refuses its own refresh token, get a new Entra token and exchange again without a browser. `0` turns it off; no effect with `code`",
    ),
    SettingDoc(
        "AUTH_FLOW",
        "`cway`",
        "`cway`: the authorization code goes to Cway's `/oauth/token` (`grant_type=azure`). `direct`: the daemon redeems it at the IdP (adding `offline_access`), validates the ID token, uses the IdP's access token as the Cway bearer and refreshes at the IdP",
    ),
    SettingDoc("CWAY_REFRESH_THRESHOLD_SECONDS", "`300`", "refresh a token when fewer seconds than this remain"),
    SettingDoc(
        "CWAY_REFRESH_CONCURRENCY",
        "`8`",
        "the most background refreshes at once; the daemon runs as few as the due times allow (usually 1–2: each one in flight is an account a crash can cost, see [security](security.md#what-a-crash-or-a-full-disk-can-cost))",
    ),
    SettingDoc(
        "CWAY_STOP_TIMEOUT_SECONDS",
        "`45`",
        "how long a stop may take: `cway-auth service install` writes it as the unit's `TimeoutStopSec` (launchd: `ExitTimeOut`), and the daemon plans its own shutdown inside it (in-flight requests, then every unsaved account kept). Re-run `service install` after changing it",
    ),
    SettingDoc("CWAY_MCP_STATE_DIR", "`~/.local/state/cway-mcp`", "token store, key file, audit log, daemon log"),
    SettingDoc(
        "CWAY_MCP_SOCKET",
        "`/run/user/<uid>/cway-mcp/daemon.sock` when `/run/user/<uid>` exists and is yours, else `<state dir>/run/daemon.sock`",
        "the daemon's owner-only Unix socket (at most 103 bytes). The default does not read `XDG_RUNTIME_DIR`: MCP clients often drop it. See [Finding the daemon](#finding-the-daemon)",
    ),
    SettingDoc(
        "CWAY_MCP_STORE_KEY",
        "—",
        "an explicit Fernet key for the token store (headless machines, CI); otherwise the OS keyring, otherwise a 0600 key file",
    ),
    SettingDoc("CWAY_MCP_AUTOSTART", "`1`", "the shim starts `cway-auth daemon` in the background when none answers"),
    SettingDoc("CWAY_MCP_OPEN_BROWSER", "`1`", "the shim's `login` tool opens the browser on a desktop session"),
    SettingDoc("CWAY_MCP_LOG_LEVEL", "`INFO`", "`DEBUG`, `INFO`, `WARNING`, `ERROR`"),
    SettingDoc("CWAY_MCP_HTTP_TIMEOUT", "`30`", "seconds before a call to the IdP or Cway gives up"),
    SettingDoc(
        "CWAY_TOOLSETS",
        "the day-to-day set",
        "which MCP tools are listed: a comma list of `approvals`, `projects`, `artworks`, `media`, `people`, `catalogue`, `admin`, `ai` (each in full), plus `default` for the day-to-day set, or `all`; an unknown name is an error naming the valid ones. See [mcp.md](mcp.md#toolsets)",
    ),
    SettingDoc(
        "CWAY_READ_ONLY",
        "`0`",
        "`1` lists only tools annotated read-only (never `run_graphql_mutation`); same as `cway-mcp --read-only`. The sign-in tools stay",
    ),
    SettingDoc(
        "CWAY_MCP_PUBLIC_URL",
        "— (required by `cway-mcp serve`)",
        "the remote server's origin as clients reach it (`https://…`, `http` only on loopback), no path: the MCP endpoint is `<it>/mcp`, the Entra redirect URI `<it>/oauth/callback`. See [deploy.md](deploy.md)",
    ),
    SettingDoc(
        "CWAY_MCP_DATABASE_URL",
        "— (required by `cway-mcp serve`)",
        "`postgresql://user[:password]@host[:port]/db` of the shared database; never echoed",
    ),
    SettingDoc(
        "CWAY_MCP_ACCESS_TOKEN_SECONDS", "`900`", "lifetime of the remote server's own access tokens (60–86400)"
    ),
    SettingDoc(
        "CWAY_MCP_CONSENT_DAYS",
        "`90`",
        "how long the remote server remembers a user's approval of a client (per redirect URI and scopes); `0` asks every time (0–365). See [deploy.md](deploy.md#how-a-user-signs-in)",
    ),
    SettingDoc(
        "CWAY_MCP_TRUSTED_PROXIES",
        "loopback",
        "`cway-mcp serve`: addresses or networks (comma-separated, or `*`) of the load balancer whose `X-Forwarded-For` names the client. See [deploy.md](deploy.md#rate-limits)",
    ),
    SettingDoc(
        "CWAY_MCP_RATE_REGISTER",
        "`10`",
        "`cway-mcp serve`: dynamic client registrations per client address and minute (`0`: no limit)",
    ),
    SettingDoc(
        "CWAY_MCP_RATE_AUTHORIZE", "`30`", "`cway-mcp serve`: `/authorize` requests per client address and minute"
    ),
    SettingDoc(
        "CWAY_MCP_RATE_CONSENT",
        "`90`",
        "`cway-mcp serve`: the sign-in's browser steps (`GET`/`POST /consent`, `GET /oauth/callback`) per client address and minute",
    ),
    SettingDoc(
        "CWAY_MCP_RATE_TOKEN",
        "`60`",
        "`cway-mcp serve`: `/token` and `/revoke` requests per client id *and* address, and minute",
    ),
    SettingDoc(
        "CWAY_MCP_RATE_TOKEN_IP",
        "`300`",
        "`cway-mcp serve`: `/token` and `/revoke` requests per client address and minute, whatever the client id",
    ),
    SettingDoc(
        "CWAY_MCP_DRAIN_SECONDS",
        "`5`",
        "`cway-mcp serve`: after SIGTERM, how long `/readyz` answers 503 while requests are still served (0–300). See [deploy.md](deploy.md#deploys-and-restarts)",
    ),
    SettingDoc(
        "CWAY_MCP_GRACEFUL_SECONDS",
        "`20`",
        "`cway-mcp serve`: then how long calls in flight may take before the process exits anyway (1–600)",
    ),
    SettingDoc("CWAY_MCP_CONFIG", "see above", "path of the TOML file"),
)
