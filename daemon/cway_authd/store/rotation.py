"""Key rotation: new key first, re-encrypt everything, and only then forget the old keys.

The ordering is what makes a failure harmless: the new key is persisted *before* any record
is rewritten, and old keys are removed only *after* every record has been rewritten, so at
every instant each record on disk decrypts with some key in storage.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from cryptography.fernet import Fernet

from .errors import KeyRotationError
from .files import ReencryptResult
from .keys import ENV_KEY_NOT_ROTATABLE, KeyMaterial

log = logging.getLogger(__name__)


class ReencryptableStore(Protocol):
    async def reencrypt_all(self) -> ReencryptResult: ...


@dataclass(frozen=True)
class RotationReport:
    rotated: int
    set_aside: int
    retired_keys: int
    source: str


async def rotate_key(store: ReencryptableStore, key_material: KeyMaterial) -> RotationReport:
    """Rotate the store key. On failure midway, old and new keys both stay (every record reads)
    and ``KeyRotationError`` is raised; running the rotation again finishes the job."""
    if not key_material.can_rotate:
        raise KeyRotationError(ENV_KEY_NOT_ROTATABLE)
    try:
        key_material.add_primary_key(Fernet.generate_key())
    except Exception as exc:
        raise KeyRotationError(
            f"could not store the new key in {key_material.source} ({type(exc).__name__}); nothing changed"
        ) from exc
    try:
        result = await store.reencrypt_all()
    except Exception as exc:
        raise KeyRotationError(
            f"re-encryption stopped ({type(exc).__name__}); old and new keys are both kept in "
            f"{key_material.source}, so every record is still readable – run the rotation again"
        ) from exc
    try:
        retired = key_material.retire_all_but_primary()
    except Exception as exc:
        raise KeyRotationError(
            f"records are re-encrypted but the old key(s) could not be removed from "
            f"{key_material.source} ({type(exc).__name__}); run the rotation again"
        ) from exc
    report = RotationReport(
        rotated=result.rotated, set_aside=result.set_aside, retired_keys=retired, source=key_material.source
    )
    log.info(
        "rotated the token store key in %s: %d record(s) re-encrypted, %d set aside, %d old key(s) retired",
        report.source,
        report.rotated,
        report.set_aside,
        report.retired_keys,
    )
    return report
