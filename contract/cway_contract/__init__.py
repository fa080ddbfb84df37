"""What the daemon, the shim and the CLI share: configuration, the clock, the socket contract.

Kept free of FastAPI, uvicorn and APScheduler so that the shim starts fast.
"""

# --- the package's surface: all other packages may import (tests/packaging/test_import_boundaries.py) ---
from cway_contract.browser import can_open_browser
from cway_contract.clock import SYSTEM_CLOCK, Clock, ManualClock, ensure_utc
from cway_contract.config import (
    MULTI_TENANT_AUTHORITIES,
    ConfigError,
    RedirectTarget,
    Settings,
    is_loopback_host,
    load_settings,
    load_values,
    stop_timeout_value,
)
from cway_contract.config_names import ALL_TOOLSETS, DEFAULT_STOP_TIMEOUT_SECONDS, TOOLSET_NAMES
from cway_contract.config_sources import default_config_file
from cway_contract.contract import (
    AccountInfo,
    AccountsResponse,
    AccountState,
    BearerResponse,
    ConfigProblem,
    ErrorBody,
    ErrorCode,
    ExchangeReport,
    HealthResponse,
    KeyRotationResponse,
    LogoutResponse,
    Route,
    SignInCompleteRequest,
    SignInStartRequest,
    SignInState,
    SignInStatus,
    TokenRequest,
    Username,
    is_blank_username,
    socket_location_problem,
)
from cway_contract.daemon_client import (
    UNTRUSTED_SOCKET_ADVICE,
    DaemonClient,
    DaemonError,
    DaemonUnavailable,
    UntrustedDaemonSocket,
)
from cway_contract.default_account import read_default, write_default
from cway_contract.discovery import DaemonRecord, daemon_socket, is_alive, live_record, remove_record, write_record
from cway_contract.humanize import format_duration, format_left, format_remaining, format_time
from cway_contract.path_advice import PRIVATE_PATH_FIX, describe_owner, is_shared_dir, unusable_path
from cway_contract.peercred import PeerCredentials, PeerCredentialsUnavailable, peer_credentials
from cway_contract.private_files import PrivateRotatingFileHandler, make_private_dirs, open_private_append
from cway_contract.redact import fingerprint
from cway_contract.settings_view import format_rows, setting_rows

__all__ = [
    "ALL_TOOLSETS",
    "DEFAULT_STOP_TIMEOUT_SECONDS",
    "MULTI_TENANT_AUTHORITIES",
    "PRIVATE_PATH_FIX",
    "SYSTEM_CLOCK",
    "TOOLSET_NAMES",
    "UNTRUSTED_SOCKET_ADVICE",
    "AccountInfo",
    "AccountState",
    "AccountsResponse",
    "BearerResponse",
    "Clock",
    "ConfigError",
    "ConfigProblem",
    "DaemonClient",
    "DaemonError",
    "DaemonRecord",
    "DaemonUnavailable",
    "ErrorBody",
    "ErrorCode",
    "ExchangeReport",
    "HealthResponse",
    "KeyRotationResponse",
    "LogoutResponse",
    "ManualClock",
    "PeerCredentials",
    "PeerCredentialsUnavailable",
    "PrivateRotatingFileHandler",
    "RedirectTarget",
    "Route",
    "Settings",
    "SignInCompleteRequest",
    "SignInStartRequest",
    "SignInState",
    "SignInStatus",
    "TokenRequest",
    "UntrustedDaemonSocket",
    "Username",
    "__version__",
    "can_open_browser",
    "daemon_socket",
    "default_config_file",
    "describe_owner",
    "ensure_utc",
    "fingerprint",
    "format_duration",
    "format_left",
    "format_remaining",
    "format_rows",
    "format_time",
    "is_alive",
    "is_blank_username",
    "is_loopback_host",
    "is_shared_dir",
    "live_record",
    "load_settings",
    "load_values",
    "make_private_dirs",
    "open_private_append",
    "peer_credentials",
    "read_default",
    "remove_record",
    "setting_rows",
    "socket_location_problem",
    "stop_timeout_value",
    "unusable_path",
    "write_default",
    "write_record",
]
# --- end of the surface ---


__version__ = "0.1.0"
