"""Key source resolution: env → secure keyring → key file, and key validation."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import keyring
import pytest
from cryptography.fernet import Fernet
from keyring.backends import fail, null

from cway_authd.store import (
    KEYRING_SERVICE,
    KEYRING_USERNAME,
    KeyConfigError,
    StorePermissionError,
    keyring_backend_is_usable,
    resolve_store_key,
)

from .helpers import FakeKeyring

LOGGER = "cway_auth_core.keys"
VALID_KEY = "cw8cTAVNb3Ba0zyx0F4cBpVl6VVJ6pDAZAYN2YN6MfI="  # fixed so test ids are stable (xdist)


def _key_file(state_dir: Path) -> Path:
    return state_dir / "keys" / "store.key"


def _stored_keys(fake: FakeKeyring) -> list[str]:
    return fake.data[(KEYRING_SERVICE, KEYRING_USERNAME)].split("\n")


def test_fail_backend_falls_back_to_key_file(state_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert isinstance(keyring.get_keyring(), fail.Keyring)  # the autouse isolation fixture
    with caplog.at_level(logging.INFO, logger=LOGGER):
        material = resolve_store_key(state_dir, env_key=None)
    path = _key_file(state_dir)
    assert material.source == f"key-file:{path}"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    key = path.read_text().strip()
    Fernet(key.encode())
    token = material.multifernet.encrypt(b"x")
    # a second start reads the same key
    again = resolve_store_key(state_dir, env_key=None)
    assert again.multifernet.decrypt(token) == b"x"
    using = [r.getMessage() for r in caplog.records if "using token store key" in r.getMessage()]
    assert using == [f"using {material.describe()}"]
    for record in caplog.records:
        assert key not in record.getMessage()
    assert key not in repr(material) and key not in material.describe()


def test_secure_keyring_is_used(state_dir: Path, fake_keyring: FakeKeyring) -> None:
    material = resolve_store_key(state_dir, env_key=None)
    assert material.source == "keyring:FakeKeyring"
    [stored] = _stored_keys(fake_keyring)
    assert Fernet(stored.encode()).decrypt(material.multifernet.encrypt(b"x")) == b"x"
    assert not _key_file(state_dir).exists()
    again = resolve_store_key(state_dir, env_key=None)
    assert again.multifernet.decrypt(material.multifernet.encrypt(b"y")) == b"y"
    assert fake_keyring.set_calls == 1  # created once, then only read


def test_use_keyring_false_skips_keyring(state_dir: Path, fake_keyring: FakeKeyring) -> None:
    material = resolve_store_key(state_dir, env_key=None, use_keyring=False)
    assert material.source.startswith("key-file:")
    assert fake_keyring.data == {}


def test_keyring_read_error_falls_back_and_says_so(
    state_dir: Path, fake_keyring: FakeKeyring, caplog: pytest.LogCaptureFixture
) -> None:
    fake_keyring.fail_get = True
    with caplog.at_level(logging.INFO, logger=LOGGER):
        material = resolve_store_key(state_dir, env_key=None)
    assert material.source == f"key-file:{_key_file(state_dir)}"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("FakeKeyring could not be read (KeyringLocked)" in w for w in warnings)


def test_keyring_read_error_with_records_refuses_instead_of_signing_everyone_out(
    state_dir: Path, fake_keyring: FakeKeyring
) -> None:
    # The records were encrypted with the key the keyring holds; a fresh key file would orphan them.
    resolve_store_key(state_dir, env_key=None)
    tokens = state_dir / "tokens"
    tokens.mkdir(mode=0o700, parents=True)
    (tokens / ("a" * 64 + ".token")).write_bytes(b"encrypted")
    fake_keyring.fail_get = True
    with pytest.raises(KeyConfigError, match="unlock the keyring") as info:
        resolve_store_key(state_dir, env_key=None)
    assert "CWAY_MCP_STORE_KEY" in str(info.value)
    assert not _key_file(state_dir).exists()
    for key in _stored_keys(fake_keyring):
        assert key not in str(info.value)


def test_keyring_write_error_falls_back_and_says_so(
    state_dir: Path, fake_keyring: FakeKeyring, caplog: pytest.LogCaptureFixture
) -> None:
    fake_keyring.fail_set = True
    with caplog.at_level(logging.INFO, logger=LOGGER):
        material = resolve_store_key(state_dir, env_key=None)
    assert material.source.startswith("key-file:")
    assert any("could not store the key" in r.getMessage() for r in caplog.records)


def test_existing_key_file_wins_over_empty_keyring(state_dir: Path) -> None:
    first = resolve_store_key(state_dir, env_key=None)  # fail backend → key file
    token = first.multifernet.encrypt(b"record")
    backend = FakeKeyring()
    keyring.set_keyring(backend)  # restored by the autouse fixture
    second = resolve_store_key(state_dir, env_key=None)
    assert second.source.startswith("key-file:")
    assert second.multifernet.decrypt(token) == b"record"
    assert backend.data == {}


class PlaintextKeyring(FakeKeyring):
    """Same name as keyrings.alt's plaintext backend: must be rejected by name."""


class LowPriority(FakeKeyring):
    priority = 0


def test_insecure_backends_are_not_usable() -> None:
    assert keyring_backend_is_usable(FakeKeyring())
    assert not keyring_backend_is_usable(fail.Keyring())
    assert not keyring_backend_is_usable(null.Keyring())
    assert not keyring_backend_is_usable(PlaintextKeyring())
    assert not keyring_backend_is_usable(LowPriority())
    alt = type("FileKeyring", (FakeKeyring,), {"__module__": "keyrings.alt.file"})
    assert not keyring_backend_is_usable(alt())


def test_plaintext_backend_falls_back_to_key_file(state_dir: Path) -> None:
    backend = PlaintextKeyring()
    keyring.set_keyring(backend)
    material = resolve_store_key(state_dir, env_key=None)
    assert material.source.startswith("key-file:")
    assert backend.data == {}


def test_env_key_takes_precedence(state_dir: Path, fake_keyring: FakeKeyring) -> None:
    resolve_store_key(state_dir, env_key=None, use_keyring=False)  # a key file exists too
    fake_keyring.data[(KEYRING_SERVICE, KEYRING_USERNAME)] = Fernet.generate_key().decode()
    env_key = Fernet.generate_key().decode()
    material = resolve_store_key(state_dir, env_key=env_key)
    assert material.source == "env:CWAY_MCP_STORE_KEY"
    assert Fernet(env_key.encode()).decrypt(material.multifernet.encrypt(b"x")) == b"x"
    assert not material.can_rotate
    assert env_key not in repr(material) and env_key not in material.describe()


def test_env_key_may_hold_several_keys(state_dir: Path) -> None:
    new, old = Fernet.generate_key(), Fernet.generate_key()
    material = resolve_store_key(state_dir, env_key=f"{new.decode()},{old.decode()}")
    assert material.key_count == 2
    assert material.multifernet.decrypt(Fernet(old).encrypt(b"legacy")) == b"legacy"
    assert Fernet(new).decrypt(material.multifernet.encrypt(b"x")) == b"x"


@pytest.mark.parametrize(
    "bad",
    [
        "SUPERSECRETVALUE-not-a-key",
        "A" * 43,
        VALID_KEY[:-2] + "!!",
        VALID_KEY + "\nSECONDSECRET",
        VALID_KEY[:-1],  # cryptography >= 51 takes this; an older release would not open it
    ],
    ids=["garbage", "too-short", "bad-chars", "second-entry-bad", "unpadded"],
)
def test_invalid_env_key_is_rejected_without_echo(state_dir: Path, bad: str) -> None:
    with pytest.raises(KeyConfigError) as info:
        resolve_store_key(state_dir, env_key=bad)
    message = str(info.value)
    assert message.startswith("CWAY_MCP_STORE_KEY is not a valid Fernet key (44 urlsafe base64 chars)")
    assert "generate one with" in message
    for part in bad.split():
        assert part not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert not (state_dir / "keys").exists()  # no silent fallback


def test_key_file_with_several_keys(state_dir: Path) -> None:
    new, old = Fernet.generate_key(), Fernet.generate_key()
    path = _key_file(state_dir)
    path.parent.mkdir(parents=True, mode=0o700)
    path.write_bytes(new + b"\n" + old + b"\n")
    path.chmod(0o600)
    material = resolve_store_key(state_dir, env_key=None)
    assert material.key_count == 2
    assert material.multifernet.decrypt(Fernet(old).encrypt(b"legacy")) == b"legacy"
    assert Fernet(new).decrypt(material.multifernet.encrypt(b"x")) == b"x"


def test_bad_key_file_is_rejected_without_echo(state_dir: Path) -> None:
    path = _key_file(state_dir)
    path.parent.mkdir(parents=True, mode=0o700)
    path.write_bytes(b"SECRET-BUT-BROKEN\n")
    path.chmod(0o600)
    with pytest.raises(KeyConfigError) as info:
        resolve_store_key(state_dir, env_key=None)
    assert str(path) in str(info.value) and "SECRET-BUT-BROKEN" not in str(info.value)


def test_loose_key_file_and_dir_are_refused(state_dir: Path) -> None:
    resolve_store_key(state_dir, env_key=None)
    path = _key_file(state_dir)
    path.chmod(0o644)
    with pytest.raises(StorePermissionError, match="chmod 600"):
        resolve_store_key(state_dir, env_key=None)
    path.chmod(0o600)
    path.parent.chmod(0o755)
    with pytest.raises(StorePermissionError, match="chmod 700"):
        resolve_store_key(state_dir, env_key=None)
