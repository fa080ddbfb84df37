"""Sign-in through the real callback page and the accounts page, served by the installed daemon.

The daemon is ``cway-auth daemon`` from the installed venv; headless Chromium (JavaScript off, as
in tests/daemon_server/test_accounts_page.py) opens the accounts page, signs in at the emulated
IdP, lands on the callback page and returns to the list. Both pages are package data
(``cway_authd/web/``): before issue 17 the wheel lacked them, and both answered 500.
"""

from __future__ import annotations

import pytest

from tests.helpers.cdp import CHROMIUM, chromium_page
from tests.helpers.daemon import RunningDaemon

pytestmark = pytest.mark.slow
ALICE = "alice@contoso.example"


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: chromium; `make test` installs it)")
def test_sign_in_through_the_accounts_and_callback_pages_in_a_browser(installed_daemon: RunningDaemon) -> None:
    origin = installed_daemon.callback_base
    with chromium_page() as tab:
        tab.navigate(origin + "/")
        assert "No account is signed in" in tab.html(), tab.html()[:500]
        tab.type_into("#sign-in-form input[name=username]", ALICE)
        tab.click("#sign-in-form button[name=sign-in]")  # POST → the IdP → approve → the callback page
        done = tab.html()
        assert f"Signed in as {ALICE}." in done, done[:500]
        assert tab.url().startswith(installed_daemon.settings.redirect.uri + "?")
        tab.click('a[href="/"]')
        listed = tab.html()
        assert f'data-account="{ALICE}"' in listed and "Renewable until" in listed
    assert [a.username for a in installed_daemon.call(lambda c: c.accounts())] == [ALICE]
    assert "Traceback" not in installed_daemon.stderr_text()
