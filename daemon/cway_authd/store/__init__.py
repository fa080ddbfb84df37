"""Encrypted per-user token store for the cway-auth daemon.

Public API: the ``TokenStore`` protocol and its file implementation, the record type, key
resolution and rotation, the single-daemon lock, and permission helpers reused elsewhere.
"""

from cway_auth_core import (
    ENV_VAR,
    KEYRING_SERVICE,
    KEYRING_USERNAME,
    SCHEMA_VERSION,
    KeyConfigError,
    KeyMaterial,
    KeyRotationError,
    MultiFernetProvider,
    ReencryptResult,
    StoreError,
    StoreLockedError,
    StorePermissionError,
    TokenRecord,
    check_private_dir,
    check_private_file,
    ensure_private_dir,
    keyring_backend_is_usable,
    normalise_username,
    record_file_name,
    resolve_store_key,
)
from cway_authd.store.files import EVENT_FILE_SET_ASIDE, FileTokenStore
from cway_authd.store.interface import TokenStore
from cway_authd.store.lockfile import StoreLock
from cway_authd.store.rotation import RotationReport, rotate_key

__all__ = [
    "ENV_VAR",
    "EVENT_FILE_SET_ASIDE",
    "KEYRING_SERVICE",
    "KEYRING_USERNAME",
    "SCHEMA_VERSION",
    "FileTokenStore",
    "KeyConfigError",
    "KeyMaterial",
    "KeyRotationError",
    "MultiFernetProvider",
    "ReencryptResult",
    "RotationReport",
    "StoreError",
    "StoreLock",
    "StoreLockedError",
    "StorePermissionError",
    "TokenRecord",
    "TokenStore",
    "check_private_dir",
    "check_private_file",
    "ensure_private_dir",
    "keyring_backend_is_usable",
    "normalise_username",
    "record_file_name",
    "resolve_store_key",
    "rotate_key",
]
