"""Input no client should send still gets the stable error shape over the real socket, never a 500."""

from __future__ import annotations

import httpx
import pytest

from cway_contract.contract import ErrorCode, Route
from tests.helpers.daemon import RunningDaemon


@pytest.mark.parametrize("route", [Route.TOKEN, Route.TOKEN_REFRESH, Route.SIGN_IN])
def test_a_lone_surrogate_in_username_is_a_400(daemon: RunningDaemon, route: str) -> None:
    transport = httpx.HTTPTransport(uds=str(daemon.socket_path))
    with httpx.Client(transport=transport, base_url="http://cway-authd", timeout=15) as client:
        # The JSON escape itself, as a client would send it: valid JSON, no UTF-8 form once decoded.
        response = client.post(route, content=b'{"username": "\\ud800"}', headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == ErrorCode.BAD_REQUEST.value
    # Said as a problem with the username, or with the JSON itself (pydantic's JSON parser refuses the escape).
    assert ("username" in body["message"] and "surrogate" in body["message"]) or "Invalid JSON" in body["message"]
