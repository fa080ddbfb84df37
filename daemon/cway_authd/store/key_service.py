"""Rotating the store key as the daemon serves it: may it rotate, rotate, audit, answer.

Kept apart from :mod:`core` (the facade lists the use cases) and from :mod:`store.rotation`
(which owns the ordering that makes a failed rotation harmless): this is the part that speaks
the contract and the audit log. The answer holds counts and the key's source, never a key.
"""

from __future__ import annotations

from typing import cast

from cway_auth_core import ENV_KEY_NOT_ROTATABLE
from cway_authd.audit import AuditLog
from cway_authd.control.peercred import PeerCredentials
from cway_authd.errors import CoreError
from cway_authd.store import KeyMaterial, KeyRotationError, TokenStore
from cway_authd.store.rotation import KeyRotator, ReencryptableStore, rotation_message
from cway_contract import ErrorCode, KeyRotationResponse

#: How long a stopping daemon lets a running rotation finish.
ROTATION_STOP_GRACE_SECONDS = 30.0


class StoreKeyService:
    """``POST /v1/store/rotate-key`` (``cway-auth rotate-key``) for one daemon's store."""

    def __init__(self, store: TokenStore, material: KeyMaterial | None, audit: AuditLog, backend: str) -> None:
        self._audit = audit
        self._backend = backend
        self._rotator = (
            KeyRotator(cast(ReencryptableStore, store), material)
            if material is not None and hasattr(store, "reencrypt_all")
            else None
        )

    async def rotate(self, peer: PeerCredentials) -> KeyRotationResponse:
        """Re-encrypt every record under a new store key and retire the old key(s) (see ``KeyRotator``)."""
        rotator = self._rotator
        if rotator is None:
            raise CoreError(
                ErrorCode.BAD_REQUEST, f"the token store ({self._backend}) has no key this daemon can rotate"
            )
        if not rotator.material.can_rotate:
            raise CoreError(ErrorCode.BAD_REQUEST, f"cannot rotate the store key: {ENV_KEY_NOT_ROTATABLE}")
        try:
            report = await rotator.rotate()
        except KeyRotationError as exc:
            self._audit.event(
                "store_key_rotation_failed",
                source=rotator.material.source,
                peer_pid=peer.pid,
                peer_uid=peer.uid,
                error=str(exc),
            )
            raise CoreError(ErrorCode.INTERNAL, f"store key rotation failed: {exc}", status=500) from None
        # Field names avoid "key": the audit log refuses any field that looks like it holds one.
        self._audit.event(
            "store_key_rotated",
            source=report.source,
            rotated=report.rotated,
            set_aside=report.set_aside,
            retired=report.retired_keys,
            peer_pid=peer.pid,
            peer_uid=peer.uid,
        )
        return KeyRotationResponse(
            rotated=report.rotated,
            set_aside=report.set_aside,
            retired_keys=report.retired_keys,
            key_source=report.source,
            message=rotation_message(report),
        )

    async def drain(self) -> None:
        """At shutdown: let a running rotation finish (within the grace period)."""
        if self._rotator is not None:
            await self._rotator.drain(ROTATION_STOP_GRACE_SECONDS)
