"""Knobs (behaviour switches) and counters of one emulator instance.

Tests need to bend the emulator (short token lifetimes, injected outages, a revoked user) and
then assert on what the code under test actually did ("exactly one refresh"). Both live here so
that the in-process API (``server.knobs``) and the admin endpoint (``POST /_emulator/knobs``)
share one implementation. The uvicorn thread and the test thread touch these objects
concurrently, so every mutation goes through a lock.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, get_args

from cway_emulator.idp_faults import EntraFault, FaultError

FailureMode = Literal["500", "502", "503", "429", "401", "hang", "invalid_grant"]
FAILURE_MODES: tuple[str, ...] = get_args(FailureMode)

#: Route groups: used both for added latency and as failure-injection targets. ``idp`` matches
#: every ``idp_*`` group.
ROUTE_GROUPS: tuple[str, ...] = (
    "idp",
    "idp_authorize",
    "idp_token",
    "idp_userinfo",
    "cway_token",
    "graphql",
    "graphql_ws",
)

#: What the emulated Cway accepts as ``token`` in ``grant_type=azure`` (``cway_exchange_token`` knob).
EXCHANGE_SHAPES: tuple[str, ...] = ("code", "access_token", "id_token")
#: How Cway's GraphQL may answer an unusable bearer (``cway_unauthenticated`` knob).
UNAUTHENTICATED_ANSWERS: tuple[str, ...] = ("401", "graphql_error", "null_login_info")

#: How an emulated AI job ends (``ai_result`` knob).
AI_RESULTS: tuple[str, ...] = ("completed", "failed")


class KnobError(ValueError):
    """A knob update that does not make sense (unknown name, bad type, unknown target)."""


@dataclass
class FailureRule:
    """Fail the next ``count`` calls to ``target`` in the given ``mode``, then clear."""

    target: str
    mode: str
    count: int = 1
    retry_after: int | None = None

    def __post_init__(self) -> None:
        if self.target not in ROUTE_GROUPS:
            raise KnobError(f"unknown failure target {self.target!r}; expected one of {ROUTE_GROUPS}")
        if self.mode not in FAILURE_MODES:
            raise KnobError(f"unknown failure mode {self.mode!r}; expected one of {FAILURE_MODES}")
        if self.count < 1:
            raise KnobError("count must be >= 1")

    def matches(self, group: str) -> bool:
        return self.target == group or (self.target == "idp" and group.startswith("idp_"))


@dataclass
class Knobs:
    """Every behaviour switch, with the production-like default.

    Lifetimes are seconds. ``latency`` maps a route group to added seconds per call.
    """

    cway_access_lifetime: int = 3600
    cway_refresh_lifetime: int = 144_000
    idp_access_lifetime: int = 3600
    idp_code_lifetime: int = 600
    #: Entra: a refresh token unused for 90 days fails with AADSTS700082.
    idp_refresh_inactivity: int = 90 * 24 * 3600
    auto_approve: bool = False
    idp_revocation: bool = False
    hang_seconds: float = 30.0
    #: How long the Cway backend waits for the IdP before answering 502.
    cway_idp_timeout: float = 10.0
    latency: dict[str, float] = field(default_factory=dict)
    failures: list[FailureRule] = field(default_factory=list)
    #: Static API tokens (the backward-compatible mode): token -> Cway username.
    static_tokens: dict[str, str] = field(default_factory=dict)
    #: Per-organisation static tokens (``CWAY_TOKEN_<ORG>``): token -> the organisation it acts in.
    static_token_orgs: dict[str, str] = field(default_factory=dict)
    #: Users disabled in Cway: sign-in answers 403, every token (static too) 401.
    disabled_users: set[str] = field(default_factory=set)
    #: Cway's GraphQL accepts access tokens the IdP issued for the Cway API (``AUTH_FLOW=direct``).
    cway_accepts_idp_tokens: bool = True
    #: Emulator-clock seconds an AI job (artworkAIAnalysis, projectHistorySummary) takes before
    #: ``aiQueryResult`` delivers its answer; on a ManualClock it finishes when the test advances.
    ai_seconds: float = 0.2
    #: How AI jobs started from now on end: ``completed`` (with text) or ``failed`` (with an error).
    ai_result: str = "completed"
    #: What Cway's ``grant_type=azure`` takes as ``token``: the Entra ``code`` (Cway redeems it with the
    #: client id, verifier and redirect URI sent along), a Graph ``access_token`` (Cway asks Graph ``/me``)
    #: or an ``id_token`` (Cway checks JWKS signature, per-tenant ``iss``, ``aud``, ``exp``). Only that one.
    cway_exchange_token: str = "code"
    #: Cway's token answer names ``refresh_expires_in`` (not known to exist in the real Cway: off).
    cway_refresh_expires_in: bool = False
    #: Entra refresh tokens work once (Cway-like); off: a redeemed one stays valid until its own lifetime ends.
    idp_refresh_single_use: bool = False
    #: Loopback redirect URIs must match the registered port too; off: any port (Entra's native-app rule).
    idp_redirect_exact_port: bool = False
    #: The desktop app registration is multi-tenant; off: single-tenant, so ``organizations``/``common``
    #: authorities are refused with AADSTS50194 (the registration our docs recommend).
    idp_app_multi_tenant: bool = False
    #: Access tokens for an API (the Cway API, ``AUTH_FLOW=direct``): 2 (``accessTokenAcceptedVersion`` 2:
    #: ``iss`` the v2 issuer, ``aud`` the client id) or 1 (null/1: ``iss`` sts.windows.net, ``aud`` the App ID URI).
    idp_api_token_version: int = 2
    #: How Cway's GraphQL answers an unusable bearer: ``401`` (HTTP 401), ``graphql_error`` (HTTP 200 with an
    #: error whose ``extensions.code`` is UNAUTHENTICATED) or ``null_login_info`` (HTTP 200, ``loginInfo`` null).
    cway_unauthenticated: str = "401"
    #: Entra refusals to inject, per account and per grant (see ``idp_faults``).
    entra_faults: list[EntraFault] = field(default_factory=list)
    #: Emulator-clock seconds a zip download job (``createDownloadJob``) takes before the ``download``
    #: subscription announces its file.
    download_seconds: float = 0.3
    #: Days an anonymous share link (``createAnonymousShare``) works; Cway does not publish its period.
    anonymous_share_days: int = 14
    #: ``addUserToFolder`` for someone already on the folder changes their rights (off, strict: it is
    #: refused and ``changeFolderUserPermission`` is the way; Cway does not document which).
    folder_add_user_updates: bool = False
    #: An open GraphQL WebSocket is closed (4401) once its bearer stops being valid (expired, revoked), so
    #: a subscription lives no longer than its token; off: a socket keeps streaming on the token it was
    #: opened with. Cway does not document which; on (strict) makes a follower reconnect with a fresh one.
    ws_close_on_expiry: bool = True

    def __post_init__(self) -> None:
        self._lock = threading.RLock()

    def fail(self, target: str, mode: str, count: int = 1, retry_after: int | None = None) -> FailureRule:
        """Queue a failure for the next ``count`` calls of ``target``."""
        rule = FailureRule(target=target, mode=mode, count=count, retry_after=retry_after)
        with self._lock:
            self.failures.append(rule)
        return rule

    def take_failure(self, group: str) -> FailureRule | None:
        """Consume one shot of the first rule matching ``group`` (rules clear when spent)."""
        with self._lock:
            for rule in self.failures:
                if rule.matches(group):
                    rule.count -= 1
                    if rule.count <= 0:
                        self.failures.remove(rule)
                    return FailureRule(rule.target, rule.mode, 1, rule.retry_after)
        return None

    def entra_fault(self, aadsts: int, grant: str = "any", account: str | None = None, count: int = 1) -> EntraFault:
        """Make Entra's token endpoint refuse the next ``count`` matching requests with ``aadsts``."""
        fault = EntraFault(aadsts, grant, account, count)
        with self._lock:
            self.entra_faults.append(fault)
        return fault

    def take_entra_fault(self, grant: str, account: str | None) -> EntraFault | None:
        with self._lock:
            for fault in self.entra_faults:
                if fault.matches(grant, account):
                    fault.count -= 1
                    if fault.count <= 0:
                        self.entra_faults.remove(fault)
                    return fault
        return None

    def latency_for(self, group: str) -> float:
        with self._lock:
            specific = self.latency.get(group, 0.0)
            shared = self.latency.get("idp", 0.0) if group.startswith("idp_") else 0.0
            return float(specific + shared)

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a JSON-ish partial update (the admin endpoint's body).

        ``failures`` entries are appended (not replaced) so that concurrent tests queueing
        failures do not erase each other; ``clear_failures: true`` empties the queue.
        """
        known = {f.name: f for f in fields(self)}
        with self._lock:
            for name, value in changes.items():
                if name == "clear_failures":
                    if value:
                        self.failures.clear()
                        self.entra_faults.clear()
                    continue
                if name not in known:
                    raise KnobError(f"unknown knob {name!r}")
                if name == "failures":
                    if not isinstance(value, list):
                        raise KnobError("failures must be a list")
                    try:
                        self.failures.extend(FailureRule(**item) for item in value)
                    except TypeError as exc:
                        raise KnobError(f"bad failure rule: {exc}") from exc
                elif name == "latency":
                    if not isinstance(value, dict) or any(g not in ROUTE_GROUPS for g in value):
                        raise KnobError(f"latency must map route groups {ROUTE_GROUPS} to seconds")
                    self.latency = {str(k): float(v) for k, v in value.items()}
                elif name == "static_tokens":
                    if not isinstance(value, dict):
                        raise KnobError("static_tokens must map token -> username")
                    self.static_tokens.update({str(k): str(v) for k, v in value.items()})
                elif name == "entra_faults":
                    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
                        raise KnobError("entra_faults must be a list of {aadsts, grant, account, count}")
                    try:
                        self.entra_faults.extend(EntraFault(**item) for item in value)
                    except (TypeError, FaultError) as exc:
                        raise KnobError(f"bad Entra fault: {exc}") from exc
                elif name == "cway_unauthenticated":
                    if value not in UNAUTHENTICATED_ANSWERS:
                        raise KnobError(f"cway_unauthenticated must be one of {UNAUTHENTICATED_ANSWERS}")
                    self.cway_unauthenticated = str(value)
                elif name == "cway_exchange_token":
                    if value not in EXCHANGE_SHAPES:
                        raise KnobError(f"cway_exchange_token must be one of {EXCHANGE_SHAPES}")
                    self.cway_exchange_token = str(value)
                elif name == "static_token_orgs":
                    if not isinstance(value, dict):
                        raise KnobError("static_token_orgs must map token -> organisation id")
                    self.static_token_orgs.update({str(k): str(v).lower() for k, v in value.items()})
                elif name == "ai_result":
                    if value not in AI_RESULTS:
                        raise KnobError(f"ai_result must be one of {AI_RESULTS}")
                    self.ai_result = str(value)
                elif name == "disabled_users":
                    if not isinstance(value, list):
                        raise KnobError("disabled_users must be a list of usernames")
                    self.disabled_users = {str(v).lower() for v in value}
                else:
                    current = getattr(self, name)
                    if isinstance(current, bool):
                        if not isinstance(value, bool):
                            raise KnobError(f"{name} must be a boolean")
                    elif isinstance(current, int | float):
                        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                            raise KnobError(f"{name} must be a non-negative number")
                        value = type(current)(value)
                    setattr(self, name, value)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            data = asdict(self)
            data["disabled_users"] = sorted(self.disabled_users)
            # Token values are credentials: show whose they are, not what they are.
            data["static_tokens"] = sorted(set(self.static_tokens.values()))
            data["static_token_orgs"] = sorted(set(self.static_token_orgs.values()))
            return data

    def clone(self) -> Knobs:
        with self._lock:
            return Knobs(**{f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self)})

    def reset(self, to: Knobs | None = None) -> None:
        """Back to ``to`` (the values the emulator was started with) or the defaults."""
        fresh = to.clone() if to is not None else Knobs()
        with self._lock:
            for f in fields(self):
                setattr(self, f.name, getattr(fresh, f.name))


#: Every counter name the emulator increments (always present in snapshots, zero by default).
COUNTER_NAMES: tuple[str, ...] = (
    "idp_discovery",
    "idp_jwks",
    "idp_authorize",
    "idp_authorize_approved",
    "idp_authorize_denied",
    "idp_token_code",
    "idp_token_refresh",
    "idp_token_rejected",
    "idp_userinfo",
    "idp_graph_me",
    "idp_logout",
    "idp_revoke",
    "cway_token_azure",
    "cway_token_refresh",
    "cway_token_rejected",
    "graphql",
    "graphql_unauthorized",
    "graphql_invalid",
    "graphql_ws",
    "graphql_ws_unauthorized",
    "injected_failures",
)


class Counters:
    """Thread-safe call counters, keyed by call kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def incr(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    @contextlib.contextmanager
    def gauge(self, name: str) -> Iterator[None]:
        """Count calls of ``name`` in progress; ``<name>_peak`` keeps the highest number seen at once
        (how tests check a client's concurrency bound at the server, where it matters)."""
        with self._lock:
            self._counts[f"{name}_in_flight"] += 1
            peak = f"{name}_peak"
            self._counts[peak] = max(self._counts[peak], self._counts[f"{name}_in_flight"])
        try:
            yield
        finally:
            with self._lock:
                self._counts[f"{name}_in_flight"] -= 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            data = dict.fromkeys(COUNTER_NAMES, 0)
            data.update(self._counts)
            return data

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
