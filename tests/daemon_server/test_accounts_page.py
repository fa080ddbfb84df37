"""The local accounts page on the callback listener: a person clicks through it in a real browser.

Headless Chromium with JavaScript disabled opens http://localhost:PORT/, types an account name,
clicks "Sign in" (the emulated IdP approves and redirects back to the daemon), returns to the page,
and clicks "Sign out". A screenshot of the page with the account is kept under ``test-artifacts/``.
The form guards (owner uid, same-origin ``Origin``, CSRF token) are checked with plain HTTP.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from cway_emulator.server import EmulatorServer
from tests.daemon_server.conftest import browser_sign_in
from tests.helpers.cdp import CHROMIUM, chromium_page
from tests.helpers.daemon import RunningDaemon

ALICE = "alice@contoso.example"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def origin(daemon: RunningDaemon) -> str:
    return f"http://localhost:{daemon.settings.redirect.port}"


def page(daemon: RunningDaemon) -> httpx.Response:
    return httpx.get(origin(daemon) + "/", trust_env=False, timeout=30)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def post(daemon: RunningDaemon, path: str, data: dict[str, str], headers: dict[str, str]) -> httpx.Response:
    return httpx.post(origin(daemon) + path, data=data, headers=headers, trust_env=False, timeout=30)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: chromium; `make test` installs it)")
def test_sign_in_and_out_by_clicking_in_a_real_browser(emu: EmulatorServer, emu_daemon: RunningDaemon) -> None:
    with chromium_page() as tab:
        tab.navigate(origin(emu_daemon) + "/")
        assert "No account is signed in" in tab.html()
        tab.type_into("#sign-in-form input[name=username]", ALICE)
        tab.click("#sign-in-form button[name=sign-in]")  # POST → 303 to the IdP → approve → our callback
        done = tab.html()
        assert f"Signed in as {ALICE}." in done and "Your accounts on this computer" in done
        assert tab.url().startswith(emu_daemon.settings.redirect.uri + "?")
        tab.click('a[href="/"]')
        listed = tab.html()
        assert f'data-account="{ALICE}"' in listed and "Renewable until" in listed
        tab.screenshot(ARTIFACTS / "accounts-page.png")
        bearer = emu_daemon.call(lambda c: c.bearer(ALICE))
        assert bearer.access_token not in listed and "eyJ" not in listed
        tab.click(f'tr[data-account="{ALICE}"] button[name=sign-out]')
        assert f"Signed out {ALICE}" in tab.html()
    assert emu_daemon.call(lambda c: c.accounts()) == []
    assert (ARTIFACTS / "accounts-page.png").stat().st_size > 1000


def test_form_posts_need_the_same_origin_and_the_token(emu: EmulatorServer, emu_daemon: RunningDaemon) -> None:
    browser_sign_in(emu_daemon, emu, ALICE)
    token = csrf_of(page(emu_daemon).text)
    form = {"csrf": token, "username": ALICE}
    same = {"Origin": origin(emu_daemon)}
    assert post(emu_daemon, "/accounts/sign-out", form, {}).status_code == 403  # no Origin at all
    assert post(emu_daemon, "/accounts/sign-out", form, {"Origin": "http://evil.example"}).status_code == 403
    other_port = f"http://localhost:{emu_daemon.settings.redirect.port + 1}"
    assert post(emu_daemon, "/accounts/sign-out", form, {"Origin": other_port}).status_code == 403
    assert post(emu_daemon, "/accounts/sign-out", {**form, "csrf": "x" * len(token)}, same).status_code == 403
    assert post(emu_daemon, "/accounts/sign-out", {"username": ALICE}, same).status_code == 403
    assert [a.username for a in emu_daemon.call(lambda c: c.accounts())] == [ALICE]  # nothing happened
    started = post(emu_daemon, "/accounts/sign-in", {"csrf": token}, same)
    assert started.status_code == 303 and started.headers["location"].startswith(emu.authorize_url)
    out = post(emu_daemon, "/accounts/sign-out", form, same)
    assert out.status_code == 200 and f"Signed out {ALICE}" in out.text
    assert emu_daemon.call(lambda c: c.accounts()) == []
    assert httpx.put(origin(emu_daemon) + "/accounts/sign-out", trust_env=False).status_code == 405


_AS_NOBODY = textwrap.dedent(
    """
    import encodings.idna, os, sys, urllib.error, urllib.request  # imported before the files become unreadable
    os.setgroups([]); os.setgid(65534); os.setuid(65534)
    url = sys.argv[1]
    print(urllib.request.urlopen(url + "/", timeout=30).read().decode())
    print("=====")
    req = urllib.request.Request(url + "/accounts/sign-out", data=sys.argv[2].encode(), method="POST",
                                 headers={"Origin": url, "Content-Type": "application/x-www-form-urlencoded"})
    try:
        urllib.request.urlopen(req, timeout=30)
        print("STATUS 200")
    except urllib.error.HTTPError as exc:
        print("STATUS", exc.code)
    """
)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as another user (uid 65534)")
def test_another_local_user_sees_counts_only_and_cannot_sign_anyone_out(
    emu: EmulatorServer, emu_daemon: RunningDaemon
) -> None:
    browser_sign_in(emu_daemon, emu, ALICE)
    token = csrf_of(page(emu_daemon).text)
    done = subprocess.run(
        [sys.executable, "-c", _AS_NOBODY, origin(emu_daemon), f"csrf={token}&username={ALICE}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    seen, _, status = done.stdout.partition("=====")
    assert "1 account(s) signed in" in seen, done.stderr
    assert ALICE not in seen and "csrf" not in seen
    assert status.strip() == "STATUS 403"
    assert [a.username for a in emu_daemon.call(lambda c: c.accounts())] == [ALICE]
