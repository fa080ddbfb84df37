"""Which Cway answers count as "the bearer was refused" (the shim's one rule, ``bearer.rejection``)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from cway_tools.bearer import rejection


def answer(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body, request=httpx.Request("POST", "https://cway.example/graphql"))


@pytest.mark.parametrize(
    ("status", "body", "why"),
    [
        (401, {"errors": [{"message": "Unauthorized"}]}, "HTTP 401"),
        (
            200,
            {"errors": [{"message": "no", "extensions": {"code": "UNAUTHENTICATED"}}], "data": None},
            "GraphQL UNAUTHENTICATED",
        ),
        (200, {"errors": [{"message": "no", "extensions": {"code": "unauthorized"}}]}, "GraphQL UNAUTHORIZED"),
        (200, {"data": {"loginInfo": None}}, "GraphQL loginInfo null"),
        (200, {"data": {"loginInfo": {"user": {"username": "a"}}}}, None),
        (200, {"errors": [{"message": "Project not found", "extensions": {"code": "NOT_FOUND"}}]}, None),
        (200, {"data": {"projects": None}}, None),
        (403, {"errors": [{"extensions": {"code": "UNAUTHENTICATED"}}]}, None),  # only 2xx bodies are read so
        (500, None, None),
    ],
)
def test_rejection(status: int, body: Any, why: str | None) -> None:
    assert rejection(answer(status, body)) == why


def test_a_body_that_is_not_json_is_no_rejection() -> None:
    response = httpx.Response(200, content=b"<html>", request=httpx.Request("POST", "https://cway.example/graphql"))
    assert rejection(response) is None


def test_whoami_says_how_long_a_re_exchangeable_session_renews() -> None:
    from datetime import UTC, datetime, timedelta

    from cway_contract.contract import AccountInfo
    from cway_mcp_shim.auth_tools import summarize, summary_line

    until = datetime.now(UTC) + timedelta(days=90)
    held = AccountInfo(username="a@x", state="ok", silent_reexchange=True, renewable_until=until)
    assert "renewable without a browser until" in summary_line(summarize(held))
    plain = AccountInfo(username="a@x", state="ok")
    assert "sign-in renewed while Cway accepts it" in summary_line(summarize(plain))
