"""Small pure pieces: failure classification, token-response parsing, the loginInfo document, flows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources

import httpx
import pytest
from graphql import build_schema, parse, validate

from cway_auth_core.errors import BackendFatal, BackendMisconfigured, BackendRejected, BackendTransient
from cway_auth_core.grants import MAX_RETRY_AFTER, MAX_TOKEN_LIFETIME, classify_failure, parse_token_response
from cway_auth_core.identity import LOGIN_INFO_QUERY
from cway_auth_core.sign_in_flow import ClaimFailure, FlowRegistry
from cway_authd.errors import CoreError
from cway_authd.refresh.engine import RetryPolicy
from cway_contract.clock import ManualClock
from cway_contract.contract import ErrorCode

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def response(status: int, body: object | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers or {})


def test_login_info_document_validates_against_the_real_schema() -> None:
    sdl = resources.files("cway_contract").joinpath("data/schema.graphql").read_text(encoding="utf-8")
    errors = validate(build_schema(sdl), parse(LOGIN_INFO_QUERY))
    assert errors == []


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (500, {"error": "server_error"}, BackendTransient),
        (503, None, BackendTransient),
        (429, {"error": "slow_down"}, BackendTransient),
        (408, None, BackendTransient),
        (400, {"error": "invalid_grant", "error_description": "refresh token revoked"}, BackendFatal),
        (
            400,
            {"error": "interaction_required", "error_description": "AADSTS700082: The refresh token has expired"},
            BackendFatal,
        ),
        (400, {"error": "invalid_request", "error_description": "AADSTS50173: password changed"}, BackendFatal),
        # A token endpoint's 401 is client authentication (RFC 6749 5.2): never the user's tokens' fault.
        (401, {"error": "unauthorized"}, BackendMisconfigured),
        (400, {"error": "invalid_client"}, BackendMisconfigured),
        (
            400,
            {"error": "invalid_grant", "error_description": "AADSTS7000215: Invalid client secret"},
            BackendMisconfigured,
        ),
        (400, {"error": "interaction_required", "error_description": "AADSTS50076: MFA"}, BackendFatal),
        (400, {"error": "consent_required", "error_description": "AADSTS65001: consent"}, BackendFatal),
        (400, {"error": "login_required", "error_codes": [50058]}, BackendFatal),
        (400, {"error": "unauthorized_client", "error_codes": [700016]}, BackendMisconfigured),
        (403, None, BackendRejected),
    ],
)
def test_failure_classification(status: int, body: object, kind: type[Exception]) -> None:
    exc = classify_failure(response(status, body), what="X", now=NOW)
    assert type(exc) is kind
    assert str(exc).startswith(f"X answered {status}")


def test_retry_after_seconds_and_http_date() -> None:
    exc = classify_failure(response(429, None, {"Retry-After": "7"}), what="X", now=NOW)
    assert isinstance(exc, BackendTransient) and exc.retry_after == 7.0
    later = (NOW + timedelta(seconds=20)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    exc = classify_failure(response(503, None, {"Retry-After": later}), what="X", now=NOW)
    assert isinstance(exc, BackendTransient) and exc.retry_after == 20.0


def test_error_description_is_cleaned() -> None:
    body = {"error": "invalid_grant", "error_description": "bad\nline <script>" + "x" * 500}
    text = str(classify_failure(response(400, body), what="X", now=NOW))
    assert "\n" not in text and "<" not in text and len(text) < 300


def test_token_response_becomes_absolute_utc_expiries() -> None:
    grant = parse_token_response(
        response(
            200,
            {
                "access_token": "AT-SECRET",
                "refresh_token": "RT-SECRET",
                "expires_in": "3600",
                "refresh_expires_in": 144000,
            },
        ),
        sent_at=NOW,
        what="X",
    )
    assert grant.access_expires_at == NOW + timedelta(hours=1)
    assert grant.refresh_expires_at == NOW + timedelta(hours=40)
    assert grant.token_type == "Bearer"
    assert "AT-SECRET" not in repr(grant) and "RT-SECRET" not in repr(grant)
    with pytest.raises(BackendRejected):
        parse_token_response(response(200, {"refresh_token": "r"}), sent_at=NOW, what="X")


@pytest.mark.parametrize("lifetime", [1e300, "1e300", "inf", "Infinity", 10**30])
def test_an_absurd_lifetime_in_a_token_answer_is_capped_not_a_crash(lifetime: object) -> None:
    # The answer carries a freshly rotated refresh token: an exception here would lose it.
    body = {"access_token": "a", "refresh_token": "r", "expires_in": lifetime, "refresh_expires_in": lifetime}
    grant = parse_token_response(response(200, body), sent_at=NOW, what="X")
    assert grant.refresh_token == "r"
    assert NOW < grant.access_expires_at <= NOW + MAX_TOKEN_LIFETIME
    assert grant.refresh_expires_at is not None and grant.refresh_expires_at <= NOW + MAX_TOKEN_LIFETIME


def test_an_absurd_retry_after_is_capped() -> None:
    exc = classify_failure(response(429, None, {"Retry-After": "9" * 30}), what="X", now=NOW)
    assert isinstance(exc, BackendTransient) and exc.retry_after == MAX_RETRY_AFTER.total_seconds()
    odd = httpx.Response(503, headers=[(b"Retry-After", "²".encode())])  # a "digit" float() refuses
    exc = classify_failure(odd, what="X", now=NOW)
    assert isinstance(exc, BackendTransient) and exc.retry_after is None


def test_retry_policy_delays_grow_and_honour_retry_after() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    delays = [policy.delay(n, None) for n in range(5)]
    assert all(0.5 <= d <= 1 for d in delays[:1])
    assert 4 <= delays[3] <= 8 and delays[4] <= 8
    assert policy.delay(0, 12.0) == 12.0
    assert policy.cooldown(1, None) == timedelta(seconds=5)
    assert policy.cooldown(10, None) == timedelta(seconds=60)


def test_core_error_to_body() -> None:
    err = CoreError(ErrorCode.UNKNOWN_ACCOUNT, "pick one", status=409, accounts=["a", "b"])
    body = err.to_body()
    assert body.error is ErrorCode.UNKNOWN_ACCOUNT and body.accounts == ["a", "b"] and err.status == 409


def test_flow_registry_single_use_expiry_and_constant_time_lookup() -> None:
    clock = ManualClock(NOW)
    flows = FlowRegistry(clock)
    flow = flows.new_flow("alice", "alice")
    flows.add(flow)
    assert flows.claim(None) == (None, ClaimFailure.MISSING)
    assert flows.claim("not-a-state") == (None, ClaimFailure.UNKNOWN)
    assert flows.claim(flow.state[:-1]) == (None, ClaimFailure.UNKNOWN)
    assert flows.claim(flow.state) == (flow, None)
    assert flows.claim(flow.state) == (flow, ClaimFailure.USED)

    late = flows.new_flow("bob", "bob")
    flows.add(late)
    assert flows.pending_for("bob") is late
    clock.advance(601)
    assert flows.pending_for("bob") is None
    assert flows.claim(late.state) == (late, ClaimFailure.EXPIRED)
    assert late.to_status().state == "expired"
    assert "state" not in repr(late) and late.state not in repr(late)
