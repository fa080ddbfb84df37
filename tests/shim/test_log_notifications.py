"""Sign-in and refresh events reach the client as log notifications (``notifications/message``),
at the level the client asked for, with the daemon's reason and never a token or a URL."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from cway_contract.config import load_settings
from cway_contract.contract import ErrorBody, ErrorCode
from cway_contract.daemon_client import DaemonError
from cway_mcp_shim.daemon_access import DaemonAccess
from cway_tools import request_scope


class Session:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []
        self.client_capabilities = None

    async def send_log_message(self, level: str, data: Any, logger: str | None = None, **_: Any) -> None:
        self.sent.append((level, data))


def access(tmp_path: Path) -> DaemonAccess:
    config = tmp_path / "c.toml"
    config.touch()
    settings = load_settings(
        {"CWAY_MCP_CONFIG": str(config), "CWAY_MCP_SOCKET": str(tmp_path / "d.sock")}, component="shim"
    )
    return DaemonAccess(settings, client=SimpleNamespace(), launcher=SimpleNamespace())  # type: ignore[arg-type]


async def raise_for(daemon: DaemonAccess, body: ErrorBody) -> str:
    with pytest.raises(ToolError) as raised:
        await daemon.raise_for(DaemonError(body, 503), "alice@contoso.example")
    return str(raised.value)


@pytest.mark.parametrize(("level", "expected"), [("info", ["refresh_failed"]), ("error", [])])
async def test_a_failed_refresh_is_a_warning_notification(tmp_path: Path, level: str, expected: list[str]) -> None:
    session = Session()
    request = SimpleNamespace(protocol_version="2025-11-25", session=session, request_id=1, params={})
    token = request_scope._current.set(cast(Any, request))
    request_scope.set_legacy_level(cast(Any, level))
    try:
        text = await raise_for(
            access(tmp_path), ErrorBody(error=ErrorCode.BACKEND_UNAVAILABLE, message="Entra answered HTTP 503")
        )
    finally:
        request_scope._current.reset(token)
        request_scope.set_legacy_level("info")
    assert "unavailable right now" in text
    assert [data["event"] for _, data in session.sent] == expected
    for sent_level, data in session.sent:
        assert sent_level == "warning"
        assert data == {
            "event": "refresh_failed",
            "message": "Cway token refresh failed: Entra answered HTTP 503",
            "username": "alice@contoso.example",
        }


def _request(session: Session) -> Any:
    return SimpleNamespace(protocol_version="2025-11-25", session=session, request_id=1, params={})


async def test_outside_a_request_nothing_is_sent() -> None:
    session = Session()
    token = request_scope._current.set(_request(session))
    try:
        await request_scope.notify_log("warning", "inside", event="sign_in_needed")
    finally:
        request_scope._current.reset(token)
    await request_scope.notify_log("warning", "outside", event="sign_in_needed")  # no request: a no-op, no error
    assert [data["message"] for _, data in session.sent] == ["inside"]


async def test_set_level_applies_to_the_session_that_asked_and_no_other() -> None:
    quiet, other = Session(), Session()  # two clients of one process, as under `cway-mcp serve`
    token = request_scope._current.set(_request(quiet))
    try:
        request_scope.set_legacy_level("error")
        await request_scope.notify_log("warning", "to quiet", event="refresh_failed")
    finally:
        request_scope._current.reset(token)
    token = request_scope._current.set(_request(other))
    try:
        await request_scope.notify_log("warning", "to other", event="refresh_failed")
    finally:
        request_scope._current.reset(token)
    assert quiet.sent == []
    assert [data["message"] for _, data in other.sent] == ["to other"]
