"""Where the store's Fernet keys come from, and how rotation persists them.

Resolution order (first that applies wins), decided once at start-up:

1. ``CWAY_MCP_STORE_KEY`` (an explicit operator choice, e.g. on a server with no keyring);
2. the OS keyring, service "cway-mcp", user "token-store-key", if a *secure* backend is active;
3. ``<state_dir>/keys/store.key`` (0600 inside a 0700 dir), created if missing.

Several keys may be held at once (newest first, one per line) so rotation can re-encrypt
records while every record stays readable: MultiFernet encrypts with the first key and
decrypts with any.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import keyring
from cryptography.fernet import Fernet, MultiFernet
from keyring.backend import KeyringBackend

from cway_auth_core.atomic import atomic_write, read_private_file
from cway_auth_core.permissions import ensure_private_dir
from cway_auth_core.records import TOKENS_DIR_NAME, is_record_file_name
from cway_auth_core.store_errors import KeyConfigError, KeyRotationError

log = logging.getLogger(__name__)

ENV_VAR = "CWAY_MCP_STORE_KEY"
KEYRING_SERVICE = "cway-mcp"
KEYRING_USERNAME = "token-store-key"
KEY_DIR_NAME = "keys"
KEY_FILE_NAME = "store.key"
_MAX_KEY_FILE_BYTES = 64 * 1024
# The canonical Fernet key shape, checked before cryptography's own parser: cryptography 51
# started accepting the 43 characters without the final "=", so a key that one installed
# release takes could be refused by the next (or the previous). Ours takes one shape only.
_KEY_SHAPE = re.compile(rb"[A-Za-z0-9_-]{43}=")
_GENERATE_HINT = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'

ENV_KEY_NOT_ROTATABLE = (
    f"the store key comes from {ENV_VAR}, which cway-auth cannot change; to rotate, put a new "
    f"key first in {ENV_VAR} (comma-separated, newest first), restart, let every record be "
    f"re-saved, then remove the old key"
)


class MultiFernetProvider(Protocol):
    """What the store needs from the key material: the current MultiFernet, read on each use."""

    @property
    def multifernet(self) -> MultiFernet: ...


def _check_key(key: bytes) -> None:
    """Raise ValueError unless ``key`` is a canonical Fernet key, whatever cryptography accepts."""
    if not _KEY_SHAPE.fullmatch(key):
        raise ValueError("not a canonical Fernet key")
    Fernet(key)


def _parse_keys(text: str, where: str) -> list[bytes]:
    """Split newline/comma-separated keys and validate each; messages never echo a value."""
    keys: list[bytes] = []
    for number, item in enumerate(re.split(r"[\s,]+", text), start=1):
        if not item or item.startswith("#"):
            continue
        key = item.encode("ascii", errors="replace")
        try:
            _check_key(key)
        except (ValueError, TypeError):
            raise KeyConfigError(
                f"{where} is not a valid Fernet key (44 urlsafe base64 chars) at entry {number}; "
                f"generate one with: {_GENERATE_HINT}"
            ) from None
        keys.append(key)
    if not keys:
        raise KeyConfigError(f"{where} holds no key; generate one with: {_GENERATE_HINT}")
    return keys


class _KeyStorage(Protocol):
    def write(self, keys: Sequence[bytes]) -> None: ...


class _KeyringStorage:
    def __init__(self, backend: KeyringBackend) -> None:
        self.backend = backend

    def write(self, keys: Sequence[bytes]) -> None:
        self.backend.set_password(KEYRING_SERVICE, KEYRING_USERNAME, "\n".join(k.decode() for k in keys))


class _KeyFileStorage:
    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, keys: Sequence[bytes]) -> None:
        body = "".join(k.decode() + "\n" for k in keys)
        atomic_write(self.path, body.encode("ascii"))


class KeyMaterial:
    """The active keys (newest first), where they live, and how to persist a change.

    ``repr`` shows the source and key count only, never a key.
    """

    def __init__(self, keys: Sequence[bytes], source: str, storage: _KeyStorage | None) -> None:
        if not keys:
            raise KeyConfigError("no store key available")
        self._keys: list[bytes] = list(keys)
        self._multifernet = MultiFernet([Fernet(k) for k in self._keys])
        self.source = source
        self._storage = storage

    @property
    def multifernet(self) -> MultiFernet:
        return self._multifernet

    @property
    def key_count(self) -> int:
        return len(self._keys)

    @property
    def can_rotate(self) -> bool:
        return self._storage is not None

    def describe(self) -> str:
        """One line for logs and the health API."""
        plural = "key" if len(self._keys) == 1 else "keys"
        return f"token store key from {self.source} ({len(self._keys)} {plural})"

    def __repr__(self) -> str:
        return f"KeyMaterial(source={self.source!r}, keys={len(self._keys)})"

    def _set(self, keys: list[bytes]) -> None:
        if self._storage is None:
            raise KeyRotationError(ENV_KEY_NOT_ROTATABLE)
        self._storage.write(keys)  # persist first: memory must never be ahead of storage
        self._keys = keys
        self._multifernet = MultiFernet([Fernet(k) for k in keys])

    def add_primary_key(self, key: bytes) -> None:
        """Put ``key`` first (used for encryption) while keeping the old ones for decryption."""
        _check_key(key)
        self._set([key, *self._keys])

    def retire_all_but_primary(self) -> int:
        """Drop every key except the newest; returns how many were removed."""
        retired = len(self._keys) - 1
        if retired:
            self._set(self._keys[:1])
        return retired


def keyring_backend_is_usable(backend: KeyringBackend) -> bool:
    """Whether ``backend`` would really keep a secret; every rejection is deliberate.

    Rejected: the fail/null backends, anything with priority <= 0 (keyring's own "not
    viable" signal), and plaintext backends (keyrings.alt), which would just be a key file
    without our permission checks. A chainer is usable only if all of its members are.
    """
    from keyring.backends import chainer, fail, null

    if isinstance(backend, fail.Keyring | null.Keyring):
        return False
    cls = type(backend)
    if cls.__module__.startswith("keyrings.alt") or cls.__name__ == "PlaintextKeyring":
        return False
    try:
        priority = float(backend.priority)
    except Exception:  # a backend may raise while probing its own viability
        return False
    if priority <= 0:
        return False
    if isinstance(backend, chainer.ChainerBackend):
        members = list(backend.backends)
        return bool(members) and all(keyring_backend_is_usable(m) for m in members)
    return True


def _key_file_material(state_dir: Path, why: str | None) -> KeyMaterial:
    key_dir = ensure_private_dir(Path(state_dir) / KEY_DIR_NAME)
    path = key_dir / KEY_FILE_NAME
    raw = read_private_file(path, _MAX_KEY_FILE_BYTES)
    storage = _KeyFileStorage(path)
    if raw is None:
        if _has_records(state_dir):
            # A new key would make every stored sign-in unreadable: everyone signed out, silently.
            raise KeyConfigError(
                f"the store key file {path} is missing but sign-ins are stored in {Path(state_dir) / TOKENS_DIR_NAME}; "
                "restore the key file (or set CWAY_MCP_STORE_KEY to that key), or move the tokens folder away "
                "to start afresh"
            )
        keys = [Fernet.generate_key()]
        storage.write(keys)
        log.info("created a new token store key file at %s", path)
    else:
        if len(raw) > _MAX_KEY_FILE_BYTES:
            raise KeyConfigError(f"key file {path} is too large to be a key file")
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            raise KeyConfigError(f"key file {path} is not a valid Fernet key file") from None
        keys = _parse_keys(text, f"key file {path}")
    material = KeyMaterial(keys, f"key-file:{path}", storage)
    if why:
        log.warning("%s; using %s", why, material.describe())
    else:
        log.info("using %s", material.describe())
    return material


def _has_records(state_dir: Path) -> bool:
    """Whether the token store beside this key already holds encrypted records."""
    tokens = Path(state_dir) / TOKENS_DIR_NAME
    try:
        return any(is_record_file_name(entry.name) for entry in os.scandir(tokens))
    except OSError:
        return False


def _key_file_exists(state_dir: Path) -> bool:
    return (Path(state_dir) / KEY_DIR_NAME / KEY_FILE_NAME).exists()


def resolve_store_key(state_dir: Path, env_key: str | None, use_keyring: bool = True) -> KeyMaterial:
    """Pick the store key source (see module docstring) and log the choice once."""
    if env_key is not None and env_key.strip():
        material = KeyMaterial(_parse_keys(env_key, ENV_VAR), f"env:{ENV_VAR}", None)
        log.info("using %s", material.describe())
        return material

    if not use_keyring:
        return _key_file_material(state_dir, None)
    backend = keyring.get_keyring()
    if not keyring_backend_is_usable(backend):
        log.info("no secure OS keyring available (backend %s)", type(backend).__name__)
        return _key_file_material(state_dir, None)

    name = type(backend).__name__
    storage = _KeyringStorage(backend)
    try:
        stored = backend.get_password(KEYRING_SERVICE, KEYRING_USERNAME)
    except Exception as exc:  # any backend failure (locked, D-Bus gone, ...)
        reason = f"OS keyring {name} could not be read ({type(exc).__name__})"
        if not _key_file_exists(state_dir) and _has_records(state_dir):
            # The records were most likely encrypted with the key the keyring holds. A new key file
            # now would set every one of them aside and sign everybody out: refuse instead.
            raise KeyConfigError(
                f"{reason}, and the stored sign-ins are encrypted with the key it holds; unlock the keyring "
                f"and start again (or set {ENV_VAR} to that key)"
            ) from None
        return _key_file_material(state_dir, reason)
    if stored is not None:
        material = KeyMaterial(_parse_keys(stored, f"the key in OS keyring {name}"), f"keyring:{name}", storage)
        log.info("using %s", material.describe())
        return material

    if _key_file_exists(state_dir):
        # Records already encrypted with the key file would become unreadable if we started a
        # fresh keyring key now; keep the existing key file.
        return _key_file_material(state_dir, f"OS keyring {name} has no store key but a key file exists")

    keys = [Fernet.generate_key()]
    try:
        storage.write(keys)
        # Read back: some backends accept a write and silently drop it.
        readback = backend.get_password(KEYRING_SERVICE, KEYRING_USERNAME)
    except Exception as exc:
        return _key_file_material(state_dir, f"OS keyring {name} could not store the key ({type(exc).__name__})")
    if readback is None or readback.strip() != keys[0].decode():
        return _key_file_material(state_dir, f"OS keyring {name} did not keep the stored key")
    material = KeyMaterial(keys, f"keyring:{name}", storage)
    log.info("created a new store key in the OS keyring; using %s", material.describe())
    return material


@dataclass(frozen=True)
class ReencryptResult:
    """What a store's ``reencrypt_all`` did (the daemon's files, the remote server's rows); key rotation reports it."""

    rotated: int
    set_aside: int
