"""``cway-auth doctor`` helps an administrator find Cway's exchange shape in one try, and shows
configuration errors, against a real daemon process and the emulator."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import httpx
import pytest

from cway_emulator.server import EmulatorServer
from tests.daemon_server.conftest import browser_sign_in
from tests.daemon_server.test_cli import cli
from tests.helpers.daemon import daemon_env, running_daemon

pytestmark = pytest.mark.slow

ALICE = "alice@contoso.example"


@pytest.fixture
def shaped_env(emu: EmulatorServer) -> Iterator[dict[str, str]]:
    values = daemon_env({**emu.env(), "CWAY_EXCHANGE_TOKEN": "access_token"})
    emu.register_redirect_uri(values["AZURE_REDIRECT_URI"])
    yield values
    shutil.rmtree(values["CWAY_TEST_BASE"], ignore_errors=True)


def test_doctor_shows_what_cway_said_to_the_wrong_shape_then_the_right_one(
    emu: EmulatorServer, shaped_env: dict[str, str]
) -> None:
    emu.knobs.cway_exchange_token = "id_token"  # this Cway wants the ID token; the daemon sends Graph's
    with running_daemon(shaped_env) as daemon:
        before = cli(shaped_env, "doctor")
        assert "✓ exchange shape: CWAY_EXCHANGE_TOKEN=access_token" in before.stdout, before.stdout
        assert "✓ last exchange: none since the daemon started" in before.stdout

        signed = browser_sign_in(daemon, emu, ALICE)
        assert signed.status.state == "failed"
        after = cli(shaped_env, "doctor")
        assert after.returncode == 1
        assert "✗ last exchange: Cway refused the access_token exchange" in after.stdout, after.stdout
        assert "HTTP 400 invalid_grant The ID token is for another application" in after.stdout
        assert "fix: Cway may expect another shape: set CWAY_EXCHANGE_TOKEN to code or id_token" in after.stdout
        assert "eyJ" not in after.stdout and "emu_ac." not in after.stdout  # no token, no code

    emu.knobs.cway_exchange_token = "access_token"  # the administrator found the right one
    again = daemon_env({**emu.env(), "CWAY_EXCHANGE_TOKEN": "access_token"})
    emu.register_redirect_uri(again["AZURE_REDIRECT_URI"])
    with running_daemon(again) as daemon:
        assert browser_sign_in(daemon, emu, ALICE).status.state == "completed"
        fixed = cli(again, "doctor")
    shutil.rmtree(again["CWAY_TEST_BASE"], ignore_errors=True)
    assert "✓ last exchange: Cway accepted the access_token exchange" in fixed.stdout, fixed.stdout
    assert "silent re-exchange on" in fixed.stdout


def test_doctor_shows_a_configuration_error_and_the_effective_authority(
    emu: EmulatorServer, shaped_env: dict[str, str]
) -> None:
    emu.knobs.cway_exchange_token = "access_token"
    emu.knobs.entra_fault(7000215, grant="authorization_code")
    with running_daemon(shaped_env) as daemon:
        signed = browser_sign_in(daemon, emu, ALICE)
        assert signed.status.state == "failed" and "ask your administrator" in (signed.status.message or "").lower()
        done = cli(shaped_env, "doctor")
    assert f"✓ tenant: {emu.tenant}" in done.stdout and f"authority {emu.authority}" in done.stdout
    assert "✗ configuration errors: AADSTS7000215 seen 1 time(s)" in done.stdout, done.stdout
    assert "fix: an administrator must fix it (the client secret is wrong)" in done.stdout


def test_the_short_sign_in_link_is_single_use(emu: EmulatorServer, shaped_env: dict[str, str]) -> None:
    emu.knobs.cway_exchange_token = "access_token"
    with running_daemon(shaped_env) as daemon:
        flow = daemon.call(lambda c: c.start_sign_in(ALICE))
        link = flow.sign_in_url
        assert link and link.startswith(daemon.settings.redirect.uri.rsplit("/", 1)[0] + "/sign-in/")
        assert "alice" not in link and "login_hint" not in link
        hop = httpx.get(link, trust_env=False, timeout=30)
        assert hop.status_code == 303 and hop.headers["location"] == flow.authorization_url
        assert hop.headers["referrer-policy"] == "no-referrer"
        location = emu.browser_sign_in(link, ALICE)  # a browser follows the link to Entra and back
        assert httpx.get(location, trust_env=False, timeout=30).status_code == 200
        gone = httpx.get(link, trust_env=False, timeout=30)
        assert gone.status_code == 410 and "no longer valid" in gone.text
        unknown = httpx.get(link.rsplit("/", 1)[0] + "/AAAAAAAAAAAAAAAA", trust_env=False, timeout=30)
        assert unknown.status_code == 410
