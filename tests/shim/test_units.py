"""Small pure pieces of the shim runtime: wording, the elicitation decision, the desktop check."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from mcp.shared.exceptions import UrlElicitationRequiredError
from mcp.types import ClientCapabilities, ElicitationCapability, FormElicitationCapability, UrlElicitationCapability

from cway_contract.browser import can_open_browser
from cway_contract.humanize import format_left
from cway_mcp_shim import autostart, signin
from cway_mcp_shim.signin import SignInInputRequired, SignInNeeded, raise_sign_in_needed
from cway_tools import request_scope

URL = "http://127.0.0.1:1/authorize?x=1"
CALLBACK = "http://localhost:8765/callback"


def fake_request(version: str, elicitation: ElicitationCapability | None, params: Any = None) -> Any:
    caps = ClientCapabilities(elicitation=elicitation)
    return SimpleNamespace(
        protocol_version=version, session=SimpleNamespace(client_capabilities=caps), params=params or {}
    )


@pytest.mark.parametrize(
    ("version", "elicitation", "expected"),
    [
        ("2025-11-25", ElicitationCapability(url=UrlElicitationCapability()), UrlElicitationRequiredError),
        ("2026-07-28", ElicitationCapability(url=UrlElicitationCapability()), SignInInputRequired),
        ("2025-06-18", ElicitationCapability(url=UrlElicitationCapability()), SignInNeeded),  # too old for URL mode
        ("2025-11-25", ElicitationCapability(form=FormElicitationCapability()), SignInNeeded),  # form only
        ("2026-07-28", ElicitationCapability(form=FormElicitationCapability()), SignInNeeded),
        ("2025-11-25", None, SignInNeeded),
    ],
)
def test_sign_in_shape_follows_protocol_and_capability(
    version: str, elicitation: ElicitationCapability | None, expected: type[Exception]
) -> None:
    token = request_scope._current.set(fake_request(version, elicitation))
    try:
        assert signin.client_supports_url_elicitation() is (expected is not SignInNeeded)
        with pytest.raises(expected) as raised:
            raise_sign_in_needed(URL, username="a@b", reason=None, flow_id="flow-1", callback_uri=CALLBACK)
    finally:
        request_scope._current.reset(token)
    if isinstance(raised.value, SignInInputRequired):
        (request,) = raised.value.result.input_requests.values()  # type: ignore[union-attr]
        assert request.params.mode == "url" and request.params.url == URL  # type: ignore[union-attr]
        assert request.params.elicitation_id is None  # type: ignore[union-attr]  # removed at 2026-07-28
        assert json.loads(raised.value.result.request_state or "{}")["flow_id"] == "flow-1"


def test_the_retry_of_an_asked_call_gets_the_text_not_the_question_again() -> None:
    url_caps = ElicitationCapability(url=UrlElicitationCapability())
    answered = {"inputResponses": {signin.SIGN_IN_KEY: {"action": "accept"}}, "requestState": '{"flow_id": "f"}'}
    token = request_scope._current.set(fake_request("2026-07-28", url_caps, answered))
    try:
        assert signin.sign_in_answer() == signin.SignInAnswer(action="accept", flow_id="f", username=None)
        with pytest.raises(SignInNeeded):
            raise_sign_in_needed(URL, username="a@b", reason=None, flow_id="f", callback_uri=CALLBACK)
    finally:
        request_scope._current.reset(token)


def test_no_request_no_elicitation() -> None:
    assert signin.client_supports_url_elicitation() is False


def test_without_a_flow_id_there_is_no_elicitation() -> None:
    token = request_scope._current.set(
        fake_request("2025-11-25", ElicitationCapability(url=UrlElicitationCapability()))
    )
    try:
        with pytest.raises(SignInNeeded):
            raise_sign_in_needed(URL, username=None, reason=None, flow_id=None, callback_uri=CALLBACK)
    finally:
        request_scope._current.reset(token)


def test_sign_in_text() -> None:
    text = signin.sign_in_text(URL, username="a@b", reason="the refresh token was revoked.", callback_uri=CALLBACK)
    assert text.splitlines()[:3] == [
        "Cway sign-in needed for a@b: the refresh token was revoked.",
        "Open this URL in a browser, sign in, then retry the same request:",
        URL,
    ]
    assert CALLBACK in text and "complete_login" in text
    no_url = signin.sign_in_text(None, username=None, reason=None, callback_uri=CALLBACK)
    assert (
        no_url
        == "Cway sign-in needed.\nCall the login tool to get a sign-in URL, open it, sign in, then retry the same request."
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "unknown"),
        (-5, "expired"),
        (0, "expired"),
        (42, "42s"),
        (3599, "59m 59s"),
        (3 * 3600 + 600, "3h 10m"),
        (39 * 3600 + 45 * 60 + 7, "39h 45m"),
    ],
)
def test_format_left(seconds: int | None, text: str) -> None:
    assert format_left(seconds) == text


@pytest.mark.skipif(sys.platform != "linux", reason="the DISPLAY rule is Linux's")
def test_browser_only_on_a_desktop_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("BROWSER", raising=False)
    assert can_open_browser() is False
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert can_open_browser() is True
    monkeypatch.delenv("WAYLAND_DISPLAY")
    monkeypatch.setenv("BROWSER", "firefox")
    assert can_open_browser() is True


def test_daemon_command_prefers_the_installed_script(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    assert autostart.daemon_command() == [str(tmp_path / "python"), "-m", "cway_authd.cli", "daemon"]
    script = tmp_path / "cway-auth"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert autostart.daemon_command() == [str(script), "daemon"]
