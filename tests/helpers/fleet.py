"""Many signed-in accounts at once, without a browser: for storm, idle and crash tests.

A real sign-in takes a browser round trip per account; a storm test needs hundreds. So the
fleet adds Cway users to a running (in-process) emulator, has the emulator's own Cway core
issue each one real tokens (the same call its token endpoint makes), and writes the records
into the daemon's token store with the daemon's key — exactly what a sign-in would have left.

:func:`lost_accounts` is the crash tests' measure: an account is lost when the refresh token the
daemon holds on disk is no longer redeemable at Cway (rotated by a refresh whose answer the
daemon never saved), so after a restart it would need a new sign-in.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from cway_authd.store import FileTokenStore, TokenRecord, resolve_store_key
from cway_contract.clock import SYSTEM_CLOCK
from cway_emulator.fixtures import DEFAULT_USER
from cway_emulator.server import EmulatorServer

FLEET_DOMAIN = "fleet.example"


def fleet_names(count: int) -> list[str]:
    return [f"user{i:05d}@{FLEET_DOMAIN}" for i in range(count)]


def open_store(env: Mapping[str, str]) -> FileTokenStore:
    """The daemon's token store for ``env`` (from :func:`tests.helpers.daemon.daemon_env`)."""
    state = Path(env["CWAY_MCP_STATE_DIR"])
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    keys = resolve_store_key(state, env["CWAY_MCP_STORE_KEY"], use_keyring=False)
    return FileTokenStore(state / "tokens", keys, SYSTEM_CLOCK)


def seed_fleet(emu: EmulatorServer, env: Mapping[str, str], count: int) -> list[str]:
    """``count`` Cway users signed in to the daemon of ``env``, tokens issued with the emulator's knobs."""
    emulator = emu.emulator
    template = emulator.store.cway_user(DEFAULT_USER)
    assert template is not None
    names = fleet_names(count)
    records: list[TokenRecord] = []
    now = SYSTEM_CLOCK.now()
    for name in names:
        user = copy.deepcopy(template)
        user.update(username=name, email=name, id=f"fleet-{name}")
        with emulator.store.lock:
            emulator.store.users[name] = user
        grant = emulator.cway.issue(user)
        records.append(
            TokenRecord(
                username=name,
                access_token=grant["access_token"],
                refresh_token=grant["refresh_token"],
                access_expires_at=now + timedelta(seconds=int(grant["expires_in"])),
                refresh_expires_at=(
                    now + timedelta(seconds=int(grant["refresh_expires_in"])) if "refresh_expires_in" in grant else None
                ),
                created_at=now,
                email=name,
            )
        )
    store = open_store(env)

    async def save_all() -> None:
        for record in records:
            await store.save(record)

    asyncio.run(save_all())
    return names


def stored_records(env: Mapping[str, str]) -> dict[str, TokenRecord]:
    return {r.normalised_username: r for r in asyncio.run(open_store(env).list())}


def refresh_token_usable(emu: EmulatorServer, refresh_token: str) -> bool:
    """Would Cway still accept this refresh token (issued, not redeemed, not expired)?"""
    emulator = emu.emulator
    with emulator.store.lock:
        grant = emulator.cway.refresh.get(refresh_token)
        return grant is not None and not grant.redeemed and emulator.clock.now() < grant.expires


def lost_accounts(emu: EmulatorServer, env: Mapping[str, str], names: list[str]) -> list[str]:
    """Accounts whose stored refresh token Cway no longer accepts (or that have no record at all)."""
    records = stored_records(env)
    return [n for n in names if (r := records.get(n)) is None or not refresh_token_usable(emu, r.refresh_token)]
