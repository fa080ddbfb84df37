"""The MCP request being served, for code that has no ``Context``: protocol revision, client
capabilities, progress and log notifications.

Why a context variable: the Cway tools call the gateway, and the gateway the daemon, without a
``Context`` in hand. When one of them must explain a sign-in, report progress or tell the client
about a sign-in event, it needs the request in flight: which revision the client speaks, what it
declared, whether it asked for progress. :class:`~cway_tools.middleware.ShimMiddleware` sets
the variable for every request; everything here is a no-op outside a request.
"""

from __future__ import annotations

import logging
import warnings
import weakref
from contextvars import ContextVar
from typing import Any, Literal

from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.types import ClientCapabilities, InputRequiredResult
from mcp_types.version import is_version_at_least

log = logging.getLogger(__name__)

#: The first revision with URL-mode elicitation (as JSON-RPC error -32042 and elicitation/complete).
URL_ELICITATION_SINCE = "2025-11-25"
#: The first revision that asks for input with an input-required result instead (and has no elicitation/complete).
INPUT_REQUIRED_SINCE = "2026-07-28"

LogLevel = Literal["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
LEVELS: tuple[LogLevel, ...] = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")


class AskClient(MCPError):
    """Carries an input-required result (2026-07-28) out of a tool to the request middleware.

    An ``MCPError`` because the SDK passes those through a tool untouched (anything else becomes an
    error result); :class:`~cway_tools.middleware.ShimMiddleware` returns ``result`` instead.
    ``code``/``message``/``data`` are what a client sees if no middleware is installed.
    """

    def __init__(self, result: InputRequiredResult, code: int, message: str, data: Any = None) -> None:
        super().__init__(code, message, data)
        self.result = result


_current: ContextVar[ServerRequestContext[Any, Any] | None] = ContextVar("cway_current_request", default=None)

#: The level each 2025-11-25 session asked for with ``logging/setLevel``, by session: the stdio shim
#: has one, but ``cway-mcp serve`` serves many clients in one process, and one client's choice must
#: not silence or flood another's. 2026-07-28 clients opt in per request instead; the SDK filters those.
_levels: weakref.WeakKeyDictionary[object, LogLevel] = weakref.WeakKeyDictionary()
DEFAULT_LEVEL: LogLevel = "info"


def current() -> ServerRequestContext[Any, Any] | None:
    return _current.get()


def protocol_at_least(version: str) -> bool:
    ctx = _current.get()
    try:
        return ctx is not None and is_version_at_least(ctx.protocol_version, version)
    except Exception:  # a half-built context must not turn a hint into a crash
        return False


def client_capabilities() -> ClientCapabilities | None:
    ctx = _current.get()
    try:
        return ctx.session.client_capabilities if ctx is not None else None
    except Exception:
        return None


def supports_url_elicitation() -> bool:
    """The client speaks a revision with URL-mode elicitation and declared ``elicitation.url``."""
    caps = client_capabilities()
    return (
        protocol_at_least(URL_ELICITATION_SINCE)
        and caps is not None
        and caps.elicitation is not None
        and caps.elicitation.url is not None
    )


def supports_form_elicitation() -> bool:
    """The client can show a form; a bare ``elicitation: {}`` (the shape before modes) counts as form."""
    caps = client_capabilities()
    if caps is None or caps.elicitation is None:
        return False
    return caps.elicitation.form is not None or caps.elicitation.url is None


def request_param(name: str) -> Any:
    """A raw parameter of the request in flight (``inputResponses``, ``requestState``...), or None."""
    ctx = _current.get()
    params = ctx.params if ctx is not None else None
    return params.get(name) if isinstance(params, dict) else None


async def report_progress(progress: float, total: float | None = None, message: str | None = None) -> None:
    """``notifications/progress`` for the request in flight; a no-op when the client gave no progressToken."""
    ctx = _current.get()
    if ctx is None:
        return
    try:
        await ctx.session.report_progress(progress, total, message)
    except Exception as exc:  # progress is best effort: a closed stream must not fail the tool
        log.debug("progress notification not sent: %s", exc)


def set_legacy_level(level: LogLevel, session: object | None = None) -> None:
    """``level`` for ``session`` (default: the session of the request being served) and no other."""
    if session is None:
        ctx = _current.get()
        session = ctx.session if ctx is not None else None
    if session is not None:
        _levels[session] = level


def legacy_level(session: object) -> LogLevel:
    return _levels.get(session, DEFAULT_LEVEL)


async def notify_log(level: LogLevel, message: str, *, event: str, after_request: bool = False, **fields: Any) -> None:
    """A ``notifications/message`` about a sign-in event. Never put a token or a sign-in URL in here.

    Delivery follows each revision's rule: 2025-11-25 clients get it at or above the level they set
    (``logging/setLevel``, default info); 2026-07-28 clients only on requests that opted in.
    ``after_request``: sent by a task that outlived its request (2025-11-25 only), so it goes on the
    session's own channel rather than as part of a finished request.
    """
    ctx = _current.get()
    if ctx is None:
        return
    if not protocol_at_least(INPUT_REQUIRED_SINCE) and LEVELS.index(level) < LEVELS.index(legacy_level(ctx.session)):
        return
    data = {"event": event, "message": message, **fields}
    try:
        with warnings.catch_warnings():  # the logging feature is deprecated in 2026-07-28, still ours to use
            warnings.simplefilter("ignore")
            related = None if after_request else ctx.request_id
            await ctx.session.send_log_message(level, data, logger="cway", related_request_id=related)
    except Exception as exc:
        log.debug("log notification not sent: %s", exc)
