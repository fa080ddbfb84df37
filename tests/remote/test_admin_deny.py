"""``cway-mcp serve admin deny|allow|denied`` the way an operator runs them (the real entry point as
a subprocess, output piped), against two replicas on one PostgreSQL and a Client ID Metadata
Document served over TLS on loopback.

A denied metadata-document client is refused at ``/authorize`` and ``/token`` (code and refresh
grants) on the *other* replica at once, its document server sees no further fetch, and its tokens
stop working on ``/mcp``; ``allow`` lets it sign in again from scratch (the document is fetched
afresh). A registered client can be denied too, even while a user is signing in through it (the
Entra callback then stops before the Cway sign-in), and another client carries on.
"""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from cway_emulator.browser import browser_sign_in_async
from cway_emulator.fixtures import ALICE, BOB
from tests.helpers.daemon import process_env
from tests.helpers.remote import (
    REDIRECT_URI,
    Replica,
    sign_in_by_document,
    start_replica,
)
from tests.remote.conftest import MetadataHost
from tests.remote.test_admin import admin, mcp_status, refresh, secrets_of, sign_in

pytestmark = pytest.mark.slow


def authorize(replica: Replica, client_id: str) -> httpx.Response:
    params = {
        "client_id": client_id,
        "response_type": "code",
        "code_challenge": "x" * 43,
        "code_challenge_method": "S256",
        "redirect_uri": REDIRECT_URI,
        "state": "s1",
    }
    return httpx.get(replica.url + "/authorize", params=params)


def redeem_code(replica: Replica, client_id: str) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": "cwm_ac_not-a-real-code",
        "code_verifier": "v" * 43,
        "redirect_uri": REDIRECT_URI,
        "client_id": client_id,
    }
    return httpx.post(replica.url + "/token", data=form)


def piped(env: dict[str, str], shell: str) -> subprocess.CompletedProcess[str]:
    """``cway-mcp serve admin …`` into a shell pipeline, as an operator types it."""
    command = f"{sys.executable} -m cway_mcp_shim serve admin {shell}"
    return subprocess.run(["/bin/sh", "-c", command], env=process_env(env), capture_output=True, text=True, timeout=60)


async def test_a_denied_client_is_refused_everywhere_without_a_fetch_until_it_is_allowed(
    serve_env: dict[str, str], public_port: int, metadata_host: MetadataHost
) -> None:
    env = {**serve_env, "SSL_CERT_FILE": str(metadata_host.cert)}
    url = metadata_host.url
    a, b = start_replica(env, public_port), start_replica(env)
    try:
        alice = await sign_in_by_document(a, ALICE, url)
        bob = await sign_in(a, BOB)  # a registered client
        assert bob.client_info is not None
        registered = bob.client_info.client_id or ""
        fetched = len(metadata_host.fetches)
        assert fetched >= 1 and mcp_status(b, alice) == 200

        denied = admin(env, "deny", "--client", url, "--reason", "phishing\treports")
        assert denied.returncode == 0, denied.stderr
        assert denied.stdout.startswith(f"denied client {url} (Metadata-document client): 1 grant(s) (2 token(s))")
        audit = [json.loads(line) for line in denied.stderr.splitlines() if '"audit"' in line]
        assert [(e["audit"], e["client_id"], e["reason"]) for e in audit] == [("admin_denied", url, "phishing reports")]

        assert mcp_status(b, alice) == 401  # the other replica refuses its access token at once
        answer = refresh(b, alice)
        assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")
        answer = redeem_code(b, url)
        assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")
        answer = authorize(b, url)
        assert answer.status_code == 400 and not answer.is_redirect  # never sent to its redirect URI
        assert answer.json()["error"] == "invalid_request"
        assert len(metadata_host.fetches) == fetched  # no replica fetched the document again

        listing = piped(env, "denied | cut -f1,4")
        assert listing.returncode == 0, listing.stderr
        assert listing.stdout == f"{url}\tphishing reports\n"
        as_json = json.loads(admin(env, "denied", "--json").stdout)["denied"]
        assert [(d["client_id"], d["reason"]) for d in as_json] == [(url, "phishing reports")]
        assert "@" in as_json[0]["denied_by"]

        assert mcp_status(b, bob) == 200  # another client carries on
        assert refresh(b, bob).status_code == 200
        async with httpx.AsyncClient(timeout=15) as browser:  # Bob starts signing in again through it
            consent = (await browser.get(authorize(a, registered).headers["location"])).headers["location"]
            bob_denied = admin(env, "deny", "--client", registered, "--json")  # while he is at Entra
            callback = await browser.get(await browser_sign_in_async(consent, BOB))
        assert callback.status_code == 400 and "administrator blocked it" in callback.text  # no Cway sign-in
        assert bob_denied.returncode == 0, bob_denied.stderr
        assert json.loads(bob_denied.stdout)["removed"]["registration"] is True
        assert mcp_status(a, bob) == 401
        assert refresh(a, bob).json()["error"] == "invalid_client"

        allowed = piped(env, f"allow --client '{url}' | cat")
        assert (allowed.returncode, allowed.stdout) == (0, f"allowed client {url}\n")
        assert admin(env, "allow", "--client", url).returncode == 1  # no longer denied
        assert mcp_status(b, alice) == 401  # its old grant stays revoked
        again = await sign_in_by_document(a, ALICE, url)  # a fresh authorization works
        assert len(metadata_host.fetches) == fetched + 1 and mcp_status(b, again) == 200
        assert admin(env, "denied", "--client", url).returncode == 1
        assert admin(env, "denied").stdout.startswith(registered + "\t")

        logs = a.log_text() + b.log_text()
        events = [json.loads(line) for line in logs.splitlines() if '"audit":"client_denied"' in line]
        assert {e["client_id"] for e in events} == {url, registered}
        for secret in secrets_of(alice, bob, again):
            for text in (logs, denied.stdout, denied.stderr, listing.stdout, bob_denied.stdout):
                assert secret not in text
    finally:
        a.stop()
        b.stop()


def test_deny_usage_errors_exit_2_before_reading_any_setting(serve_env: dict[str, str]) -> None:
    assert admin(serve_env, "deny").returncode == 2  # --client is required
    assert admin(serve_env, "deny", "--client", "").returncode == 2
    assert admin(serve_env, "deny", "--client", "has space").returncode == 2
    long_reason = admin(serve_env, "deny", "--client", "c", "--reason", "x" * 201)
    assert long_reason.returncode == 2 and "200" in long_reason.stderr
    assert admin(serve_env, "allow").returncode == 2
