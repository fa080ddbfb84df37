"""The contract between the daemon and its clients (the shim and the CLI).

One module, imported by both sides, so the wire format cannot drift: the routes on the
owner-only Unix socket, the request/response models, and the stable error codes. It also holds
the socket *path* rules (``CWAY_MCP_SOCKET`` overrides :func:`default_socket_path`).

Only the access token ever crosses this boundary; refresh tokens stay in the daemon.
"""

from __future__ import annotations

import os
import re
import stat
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from cway_contract.socket_trust import parent_chain_problem

API_PREFIX = "/v1"
APP_NAME = "cway-mcp"

# sun_path holds 108 bytes on Linux and 104 on macOS, including the terminating NUL.
MAX_SOCKET_PATH_BYTES = 103


RUN_USER_ROOT = Path("/run/user")
SOCKET_NAME = "daemon.sock"


def user_runtime_dir(uid: int | None = None) -> Path | None:
    """``/run/user/<uid>`` when it exists, is a directory, is ours and is closed to others; else None.

    Derived from the uid, not from ``XDG_RUNTIME_DIR``: MCP clients spawn servers with a trimmed
    environment (the MCP SDK passes only HOME, LOGNAME, PATH, SHELL, TERM and USER), so a rule that
    reads the variable finds a different socket in the shim than in the daemon (gpg-agent does this too).
    """
    uid = os.geteuid() if uid is None else uid
    path = RUN_USER_ROOT / str(uid)
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid or st.st_mode & 0o022:
        return None
    return path


def default_socket_path(state_dir: Path) -> Path:
    """The one socket rule: ``/run/user/<uid>/cway-mcp/daemon.sock`` (systemd's ``%t``, a per-user
    tmpfs) when that runtime dir is usable, else ``<state dir>/run/daemon.sock``.

    Neither depends on a variable a client may drop; the daemon creates the directory 0700 and
    checks it like any other private dir. ``CWAY_MCP_SOCKET`` overrides this rule.
    """
    runtime = user_runtime_dir()
    if runtime is not None:
        return runtime / APP_NAME / SOCKET_NAME
    return state_dir / "run" / SOCKET_NAME


def socket_path_problem(path: Path) -> str | None:
    """What is wrong with ``path`` as the daemon's socket path (None when nothing is)."""
    if not path.is_absolute():
        return "must be an absolute path"
    if len(os.fsencode(path)) > MAX_SOCKET_PATH_BYTES:
        return f"is longer than {MAX_SOCKET_PATH_BYTES} bytes; choose a shorter path"
    return None


def socket_location_problem(path: Path) -> str | None:
    """Everything a client holds against a daemon socket at ``path``, or None: :func:`socket_path_problem`,
    then whether anyone but us (or root) could replace it (the check every client makes on connecting,
    :func:`cway_contract.socket_trust.parent_chain_problem`). The daemon asks this before it serves, so it
    never listens where every client would refuse it. The socket's directory must exist."""
    return socket_path_problem(path) or parent_chain_problem(path)


class Route:
    """Paths on the Unix socket. Versioned so an old shim meets a new daemon with a clear error."""

    HEALTH = f"{API_PREFIX}/health"
    ACCOUNTS = f"{API_PREFIX}/accounts"
    # GET: whoami, DELETE: logout. ``:path`` because a username may contain "/" (sent as %2F).
    ACCOUNT = f"{API_PREFIX}/accounts/{{username:path}}"
    TOKEN = f"{API_PREFIX}/token"  # POST: current bearer (refreshing first if due)
    TOKEN_REFRESH = f"{API_PREFIX}/token/refresh"  # POST: force a refresh (after a 401)
    SIGN_IN = f"{API_PREFIX}/sign-in"  # POST: start
    SIGN_IN_STATUS = f"{API_PREFIX}/sign-in/{{flow_id}}"  # GET: wait for completion
    SIGN_IN_COMPLETE = f"{API_PREFIX}/sign-in/complete"  # POST: pasted redirect URL or code+state
    STORE_ROTATE_KEY = f"{API_PREFIX}/store/rotate-key"  # POST: re-encrypt every record under a new key
    OPENAPI = f"{API_PREFIX}/openapi.json"


class ErrorCode(StrEnum):
    NOT_SIGNED_IN = "not_signed_in"  # no record for this account
    SIGN_IN_REQUIRED = "sign_in_required"  # there was a record, but it can no longer be refreshed
    UNKNOWN_ACCOUNT = "unknown_account"  # no username given and none (or several) could be chosen
    BACKEND_UNAVAILABLE = "backend_unavailable"  # IdP or Cway unreachable / 5xx / 429, nothing usable cached
    CONFIGURATION_ERROR = "configuration_error"  # the app registration/settings were refused: ask the admin
    BAD_REQUEST = "bad_request"
    SIGN_IN_FAILED = "sign_in_failed"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    INTERNAL = "internal"


#: What each code means to a caller, and what it carries (docs/architecture.md and docs/cli.md are
#: generated from this: ``python -m tests.docs_tables``).
ERROR_MEANINGS: dict[ErrorCode, str] = {
    ErrorCode.NOT_SIGNED_IN: "no record for this account: sign in",
    ErrorCode.SIGN_IN_REQUIRED: "there was a record, but it can no longer be refreshed; carries `sign_in_url`",
    ErrorCode.UNKNOWN_ACCOUNT: "no username given and none (or several) could be chosen; carries `accounts`",
    ErrorCode.BACKEND_UNAVAILABLE: "the IdP or Cway is unreachable, answers 5xx or 429, and nothing usable is cached",
    ErrorCode.CONFIGURATION_ERROR: "the app registration or the settings were refused: the administrator must fix them",
    ErrorCode.BAD_REQUEST: "the request does not fit the contract (its values are not echoed)",
    ErrorCode.SIGN_IN_FAILED: "the sign-in was refused, expired or could not be completed",
    ErrorCode.NOT_FOUND: "no such route, account or sign-in flow",
    ErrorCode.FORBIDDEN: "the caller is not the daemon's own user",
    ErrorCode.INTERNAL: "an unexpected failure; the details are in the daemon's log only",
}


#: A username has at least one character that is not white space. White space is what Python's
#: ``str.isspace`` (hence the daemon's ``str.strip``) says it is, spelled out as a class so that every regex
#: engine reading the OpenAPI document (Python's, pydantic's Rust one, ECMAScript's) reads the same rule.
USERNAME_PATTERN = (
    "[^\\u0009-\\u000d\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
)
_NOT_BLANK = re.compile(USERNAME_PATTERN)


def is_blank_username(value: str) -> bool:
    """The one rule for "no name at all": empty or only white space. The daemon refuses such a name."""
    return _NOT_BLANK.search(value) is None


def _username(value: str) -> str:
    """JSON can carry a lone surrogate (``"\\ud800"``); such a string has no UTF-8 form, so it is no name."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    if is_blank_username(value):
        raise ValueError("must not be empty or only white space")
    return value


Username = Annotated[
    str,
    AfterValidator(_username),
    # Said in the schema (what the check above enforces), not enforced a second time with another message.
    WithJsonSchema({"type": "string", "minLength": 1, "pattern": USERNAME_PATTERN}),
]
"""An account name from a client: text that can be stored, logged and sent on (UTF-8), not blank."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ErrorBody(_Model):
    """Every non-2xx answer on the socket has this shape."""

    error: ErrorCode
    message: str
    username: str | None = None
    sign_in_url: str | None = Field(default=None, description="Where to sign in, when that is the fix.")
    flow_id: str | None = None
    accounts: list[str] | None = Field(default=None, description="Signed-in accounts, for unknown_account.")


#: ``ok``: fresh, last refresh succeeded. ``refreshing``: a refresh is running. ``retrying``: the last refresh
#: failed (transient); the token still works and the daemon tries again. ``expired``: the access token ran out
#: unrefreshed (the backend kept failing); the daemon keeps trying. ``unsaved``: refreshed, but the disk would
#: not take the new tokens; they are served from memory and the save is retried. ``misconfigured``: the last
#: refresh was refused for the application's configuration (invalid_client, AADSTS7000215 …): the tokens are
#: kept, the administrator must fix it. ``needs_sign_in``: no usable refresh token.
AccountState = Literal["ok", "refreshing", "retrying", "expired", "unsaved", "misconfigured", "needs_sign_in"]

#: Each state's meaning, as the docs show it (generated: ``python -m tests.docs_tables``).
ACCOUNT_STATE_MEANINGS: dict[str, str] = {
    "ok": "fresh; the last refresh succeeded",
    "refreshing": "a refresh is running",
    "retrying": "the last refresh failed (transient); the token still works and the daemon tries again",
    "expired": "the access token ran out unrefreshed (the backend kept failing); the daemon keeps trying",
    "unsaved": "refreshed, but the disk would not take the new tokens: served from memory, the save is retried",
    "misconfigured": "the last refresh was refused for the application's configuration (invalid_client, "
    "AADSTS7000215 …): the tokens are kept, the administrator must fix it",
    "needs_sign_in": "no usable refresh token: the user must sign in again",
}


class AccountInfo(_Model):
    username: str
    state: AccountState
    display_name: str | None = None
    email: str | None = None
    tenant: str | None = None
    organisation_id: str | None = None
    organisation_name: str | None = None
    access_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    last_refreshed_at: datetime | None = None
    next_refresh_at: datetime | None = Field(
        default=None, description="When the daemon refreshes this account next, on its own (no tool call needed)."
    )
    last_error: str | None = None
    renewable_until: datetime | None = Field(
        default=None,
        description="Until when the daemon can renew the session without a browser: the Entra refresh token's "
        "inactivity limit when a silent re-exchange is possible, else the Cway refresh token's expiry (if known).",
    )
    silent_reexchange: bool = Field(
        default=False, description="An Entra refresh token is held to get new Cway tokens when Cway's refresh fails."
    )


class AccountsResponse(_Model):
    accounts: list[AccountInfo]


class TokenRequest(_Model):
    username: Username | None = Field(default=None, description="Omit to use the daemon's only signed-in account.")
    rejected: str | None = Field(
        default=None,
        description="For a forced refresh: the fingerprint (cway_contract.redact.fingerprint) of the token Cway "
        "rejected. When the daemon already holds a different token, it hands that out instead of refreshing again.",
    )


class BearerResponse(_Model):
    username: str
    access_token: str = Field(repr=False)
    token_type: str = "Bearer"
    expires_at: datetime


class SignInStartRequest(_Model):
    username: Username | None = Field(default=None, description="Sent to the IdP as login_hint.")


SignInState = Literal["pending", "completed", "failed", "expired"]


class SignInStatus(_Model):
    flow_id: str
    state: SignInState
    authorization_url: str | None = Field(default=None, description="Open this in a browser to sign in.")
    sign_in_url: str | None = Field(
        default=None,
        description="The short local link (http://localhost:PORT/sign-in/<flow id>) that redirects to "
        "authorization_url: no personal data, so this is the one to hand to MCP clients.",
    )
    requested_username: str | None = None
    username: str | None = Field(default=None, description="The identity Cway confirmed.")
    identity_mismatch: bool = False
    message: str | None = None
    expires_at: datetime | None = None


class SignInCompleteRequest(_Model):
    """For machines whose browser cannot reach the callback: paste the redirect URL, or code and state."""

    redirect_url: str | None = Field(default=None, repr=False)
    code: str | None = Field(default=None, repr=False)
    state: str | None = Field(default=None, repr=False)


class LogoutResponse(_Model):
    username: str
    removed: bool
    revoked: bool | None = Field(
        default=None,
        description="Whether the IdP revoked the refresh token (AUTH_FLOW=direct, where discovery advertises a "
        "revocation endpoint); None where nothing could be revoked (Cway and Entra offer no endpoint).",
    )
    message: str


class ExchangeReport(_Model):
    """What Cway answered at the last ``grant_type=azure`` exchange (sign-in or silent re-exchange). No secrets."""

    at: datetime
    shape: str = Field(description="CWAY_EXCHANGE_TOKEN at the time: code, access_token or id_token.")
    ok: bool
    status: int | None = Field(default=None, description="HTTP status; None when Cway could not be reached.")
    error: str | None = None
    description: str | None = None


class ConfigProblem(_Model):
    """The latest configuration error an IdP or Cway reported (invalid_client, AADSTS7000215 …)."""

    code: str
    message: str
    first_seen: datetime
    last_seen: datetime
    count: int


class HealthResponse(_Model):
    version: str
    pid: int
    uptime_seconds: float
    storage_backend: str
    key_source: str
    socket_path: str
    callback_url: str
    auth_flow: str
    accounts: int
    accounts_needing_sign_in: int
    pending_sign_ins: int
    loading_accounts: bool = Field(
        default=False,
        description="True for the moment after start-up while the stored accounts are still being read; "
        "the counts are those read so far.",
    )
    store_problems: list[str] = Field(
        default_factory=list,
        description="Token files the daemon could not use (set aside, or not decryptable with the key), one line each.",
    )
    authority: str | None = Field(default=None, description="The effective Entra authority (issuer URL).")
    exchange_token: str | None = Field(default=None, description="CWAY_EXCHANGE_TOKEN: code, access_token or id_token.")
    silent_reexchange: bool = False
    last_exchange: ExchangeReport | None = None
    config_problem: ConfigProblem | None = None


class KeyRotationResponse(_Model):
    """What a store key rotation did: counts and where the key lives, never a key."""

    rotated: int = Field(description="Records re-encrypted under the new key.")
    set_aside: int = Field(description="Unreadable files moved aside (those accounts must sign in again).")
    retired_keys: int = Field(description="Old keys removed from the key storage.")
    key_source: str = Field(description="Where the key lives, e.g. key-file:/path/store.key or keyring:Backend.")
    message: str
