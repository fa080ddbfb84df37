"""The sign-in as a person does it: a real browser follows the IdP's redirect to the daemon.

Headless Chromium opens the authorization URL; the emulated IdP (auto-approve) redirects it to the
daemon's loopback callback with whatever Host header and request shape a real browser sends,
and the page it ends on is the one a person would read. Skipped where Chromium is not installed
(Debian's ``chromium`` package; the project does not install a browser).
"""

from __future__ import annotations

import subprocess
import tempfile

import pytest

from cway_emulator.server import EmulatorServer
from tests.helpers.cdp import BASE_FLAGS, CHROMIUM
from tests.helpers.daemon import RunningDaemon

FLAGS = BASE_FLAGS  # scripts enabled: the pages run as a person's browser runs them

pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")]


def rendered_page(url: str) -> str:
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory(prefix="cw-chromium-", ignore_cleanup_errors=True) as profile:
        done = subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_real_browser_completes_the_sign_in(emu: EmulatorServer, emu_daemon: RunningDaemon) -> None:
    flow = emu_daemon.call(lambda c: c.start_sign_in("alice@contoso.example"))
    assert flow.authorization_url
    page = rendered_page(flow.authorization_url)
    assert "Signed in as alice@contoso.example." in page
    assert "You can close this tab" in page
    status = emu_daemon.call(lambda c: c.sign_in_status(flow.flow_id))
    assert status.state == "completed" and status.username == "alice@contoso.example"
    bearer = emu_daemon.call(lambda c: c.bearer("alice@contoso.example"))
    assert bearer.access_token not in page


def test_a_real_browser_sees_a_refused_sign_in_explained(emu: EmulatorServer, emu_daemon: RunningDaemon) -> None:
    flow = emu_daemon.call(lambda c: c.start_sign_in("carol@contoso.example"))  # in Entra, not in Cway
    assert flow.authorization_url
    page = rendered_page(flow.authorization_url)
    assert "Sign-in failed" in page and "No active Cway user for carol@contoso.example" in page
    status = emu_daemon.call(lambda c: c.sign_in_status(flow.flow_id))
    assert status.state == "failed"
    assert emu_daemon.call(lambda c: c.accounts()) == []
