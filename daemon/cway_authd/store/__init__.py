"""Encrypted per-user token store for the cway-auth daemon.

Public API: the ``TokenStore`` protocol and its file implementation, the record type, key
resolution and rotation, the single-daemon lock, and permission helpers reused elsewhere.
"""

from .errors import KeyConfigError, KeyRotationError, StoreError, StoreLockedError, StorePermissionError
from .files import EVENT_FILE_SET_ASIDE, FileTokenStore, ReencryptResult
from .interface import TokenStore
from .keys import (
    ENV_VAR,
    KEYRING_SERVICE,
    KEYRING_USERNAME,
    KeyMaterial,
    MultiFernetProvider,
    keyring_backend_is_usable,
    resolve_store_key,
)
from .lockfile import StoreLock
from .permissions import check_private_dir, check_private_file, ensure_private_dir
from .records import SCHEMA_VERSION, TokenRecord, normalise_username, record_file_name
from .rotation import RotationReport, rotate_key

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
