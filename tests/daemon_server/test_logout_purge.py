"""After ``logout`` no refresh token of the account is left anywhere on disk: every file under the
daemon's directories is read, raw and with every Fernet token in it decrypted under the store key.

Real daemon process, emulator, a browser sign-in in ``access_token`` mode (so the daemon also holds
an Entra refresh token) with the emulator's RFC 7009 endpoint on: that one is revoked and the
emulator refuses it afterwards. Cway has no revocation (no such mutation in its schema, no
endpoint), so its refresh token stays redeemable at Cway: all the daemon can do is forget it.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken

from cway_emulator.server import EmulatorServer
from tests.daemon_server.conftest import browser_sign_in
from tests.helpers.daemon import daemon_env, running_daemon
from tests.helpers.fleet import refresh_token_usable, seed_fleet

FERNET_TOKEN = re.compile(rb"gAAAAA[A-Za-z0-9_\-]+=*")


@pytest.fixture
def env(emu: EmulatorServer) -> Iterator[dict[str, str]]:
    emu.knobs.cway_exchange_token = "access_token"
    emu.knobs.idp_revocation = True
    values = daemon_env({**emu.env(), "CWAY_EXCHANGE_TOKEN": "access_token"})
    emu.register_redirect_uri(values["AZURE_REDIRECT_URI"])
    yield values
    shutil.rmtree(values["CWAY_TEST_BASE"], ignore_errors=True)


def every_file(base: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in base.rglob("*") if p.is_file() and not p.is_symlink()}


def decrypted(files: dict[Path, bytes], key: str) -> dict[Path, list[bytes]]:
    fernet = Fernet(key.encode())
    found: dict[Path, list[bytes]] = {}
    for path, data in files.items():
        for token in FERNET_TOKEN.findall(data):
            try:
                found.setdefault(path, []).append(fernet.decrypt(token))
            except InvalidToken:
                continue
    return found


def refresh_tokens_of(emu: EmulatorServer, username: str) -> tuple[list[str], list[str]]:
    """(Cway's, Entra's) refresh tokens ever issued to ``username``."""
    emulator = emu.emulator
    with emulator.store.lock:
        cway = [t for t, g in emulator.cway.refresh.items() if g.username == username]
        entra = [t for t, g in emulator.idp.refresh.items() if g.upn.lower() == username.lower()]
    return cway, entra


def test_logout_leaves_no_refresh_token_on_disk_and_revokes_what_can_be_revoked(
    emu: EmulatorServer, env: dict[str, str]
) -> None:
    [other] = seed_fleet(emu, env, 1)
    with running_daemon(env, mode="process", cleanup=False) as daemon:
        signed_in = browser_sign_in(daemon, emu)
        name = signed_in.status.username
        assert name
        for _ in range(3):  # rotations: each one journalled
            daemon.call(lambda c: c.force_refresh(name))
        daemon.call(lambda c: c.force_refresh(other))
        cway_tokens, entra_tokens = refresh_tokens_of(emu, name)
        assert len(cway_tokens) >= 4 and entra_tokens
        journal = Path(env["CWAY_MCP_STATE_DIR"]) / "tokens" / ".refresh-journal"
        assert journal.stat().st_size > 0  # the journal holds the account's rotations before the logout

        answer = daemon.call(lambda c: c.logout(name))
        assert answer.removed and answer.revoked is True

        # While the daemon still runs (it compacts the journal at a clean stop anyway): every file.
        files = every_file(Path(env["CWAY_TEST_BASE"]))
        plain = decrypted(files, env["CWAY_MCP_STORE_KEY"])
        secrets = [t.encode() for t in cway_tokens + entra_tokens]
        for path, data in files.items():
            assert not any(s in data for s in secrets), f"a refresh token of {name} in {path} (raw)"
        for path, texts in plain.items():
            assert not any(s in text for text in texts for s in secrets), (
                f"a refresh token of {name} in {path} (decrypted)"
            )
        # The search can find what it looks for: the other account's live refresh token is there.
        other_cway, _ = refresh_tokens_of(emu, other)
        live = [t.encode() for t in other_cway if refresh_token_usable(emu, t)]
        assert any(s in text for texts in plain.values() for text in texts for s in live)
        assert journal in plain  # …including in the journal, which was compacted, not just emptied

        with pytest.raises(Exception):  # noqa: B017 - the account is gone from the daemon's memory
            daemon.call(lambda c: c.bearer(name))
        assert daemon.stop() == 0

    # Revoked where the IdP offers it: Entra's refresh token is refused from now on…
    with emu.emulator.store.lock:
        assert all(emu.emulator.idp.refresh[t].revoked for t in entra_tokens)
    # …while Cway's newest refresh token still works at Cway (it has no revocation), but no file holds it.
    assert refresh_token_usable(emu, cway_tokens[-1])
