"""The sign-in core the daemon and the remote server share: the token record and its encryption, the Entra and Cway exchanges, their error classes."""

# --- the package's surface: all other packages may import (tests/packaging/test_import_boundaries.py) ---
from cway_auth_core import refresh_due
from cway_auth_core.atomic import (
    atomic_write,
    commit_temp,
    discard_temp,
    fsync_dir,
    is_temp_name,
    read_private_file,
    write_temp,
)
from cway_auth_core.audit_redaction import redact_fields
from cway_auth_core.cway_session import CwaySession, renewable_until
from cway_auth_core.cway_tokens import CwayTokenClient
from cway_auth_core.entra_errors import ADMIN_CODES, AdminProblems, ErrorClass, aadsts_code, admin_hint, classify
from cway_auth_core.errors import BackendError, BackendFatal, BackendMisconfigured, BackendTransient
from cway_auth_core.grants import TokenGrant, clean_text
from cway_auth_core.http import build_http_client
from cway_auth_core.keys import (
    ENV_KEY_NOT_ROTATABLE,
    ENV_VAR,
    KEY_DIR_NAME,
    KEY_FILE_NAME,
    KEYRING_SERVICE,
    KEYRING_USERNAME,
    KeyMaterial,
    MultiFernetProvider,
    ReencryptResult,
    keyring_backend_is_usable,
    resolve_store_key,
)
from cway_auth_core.oidc import OidcClient
from cway_auth_core.permissions import (
    PRIVATE_FILE_MODE,
    check_private_dir,
    check_private_file,
    check_private_file_stat,
    ensure_private_dir,
)
from cway_auth_core.records import (
    SCHEMA_VERSION,
    TOKENS_DIR_NAME,
    RecordFormatError,
    TokenRecord,
    is_record_file_name,
    normalise_username,
    record_file_name,
)
from cway_auth_core.redeem import redeem_code
from cway_auth_core.refresh_due import due_at, is_due, refresh_token_expired
from cway_auth_core.sign_in_flow import ClaimFailure, FlowRegistry, SignInFlow, new_sign_in_flow
from cway_auth_core.store_errors import (
    KeyConfigError,
    KeyRotationError,
    StoreError,
    StoreLockedError,
    StorePermissionError,
)

__all__ = [
    "ADMIN_CODES",
    "ENV_KEY_NOT_ROTATABLE",
    "ENV_VAR",
    "KEYRING_SERVICE",
    "KEYRING_USERNAME",
    "KEY_DIR_NAME",
    "KEY_FILE_NAME",
    "PRIVATE_FILE_MODE",
    "SCHEMA_VERSION",
    "TOKENS_DIR_NAME",
    "AdminProblems",
    "BackendError",
    "BackendFatal",
    "BackendMisconfigured",
    "BackendTransient",
    "ClaimFailure",
    "CwaySession",
    "CwayTokenClient",
    "ErrorClass",
    "FlowRegistry",
    "KeyConfigError",
    "KeyMaterial",
    "KeyRotationError",
    "MultiFernetProvider",
    "OidcClient",
    "RecordFormatError",
    "ReencryptResult",
    "SignInFlow",
    "StoreError",
    "StoreLockedError",
    "StorePermissionError",
    "TokenGrant",
    "TokenRecord",
    "aadsts_code",
    "admin_hint",
    "atomic_write",
    "build_http_client",
    "check_private_dir",
    "check_private_file",
    "check_private_file_stat",
    "classify",
    "clean_text",
    "commit_temp",
    "discard_temp",
    "due_at",
    "ensure_private_dir",
    "fsync_dir",
    "is_due",
    "is_record_file_name",
    "is_temp_name",
    "keyring_backend_is_usable",
    "new_sign_in_flow",
    "normalise_username",
    "read_private_file",
    "record_file_name",
    "redact_fields",
    "redeem_code",
    "refresh_due",
    "refresh_token_expired",
    "renewable_until",
    "resolve_store_key",
    "write_temp",
]
# --- end of the surface ---
