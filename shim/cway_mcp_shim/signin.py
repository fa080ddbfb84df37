"""Telling the person (through the model) that they must sign in, and how.

A tool call that needs a sign-in cannot finish: the answer must carry the sign-in URL and the
one step to take. Two shapes, chosen per client:

* the default, which every client understands: a tool result with ``isError`` whose text holds
  the URL and the instructions (a :class:`SignInNeeded` ``ToolError``);
* URL-mode elicitation (JSON-RPC error -32042), only for a client that negotiated 2025-11-25 or
  later *and* declared ``elicitation.url``. Clients that did not ask for it must never see it:
  some (MCP Inspector's CLI) hang on that error.

The Cway tools call the gateway without a ``Context``, so the request in flight is kept in a
context variable by :class:`RequestContextMiddleware`; the gateway consults it only when it has
to explain a sign-in.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, NoReturn

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import UrlElicitationRequiredError
from mcp.types import ElicitRequestURLParams
from mcp_types.version import is_version_at_least

#: The first protocol revision that defines URL-mode elicitation.
URL_ELICITATION_SINCE = "2025-11-25"

_current_request: ContextVar[ServerRequestContext[Any, Any] | None] = ContextVar("cway_current_request", default=None)


class RequestContextMiddleware:
    """Remembers the request being served, so code without a ``Context`` can see the client's capabilities."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        token = _current_request.set(ctx)
        try:
            return await call_next(ctx)
        finally:
            _current_request.reset(token)


def client_supports_url_elicitation() -> bool:
    """True only when the client both speaks a protocol with URL elicitation and declared it."""
    ctx = _current_request.get()
    if ctx is None:
        return False
    try:
        if not is_version_at_least(ctx.protocol_version, URL_ELICITATION_SINCE):
            return False
        caps = ctx.session.client_capabilities
    except Exception:  # a half-built context must not turn a sign-in hint into a crash
        return False
    return caps is not None and caps.elicitation is not None and caps.elicitation.url is not None


class SignInNeeded(ToolError):
    """A tool cannot run until the account signs in; the message says where and how."""

    def __init__(self, text: str, *, url: str | None, username: str | None) -> None:
        super().__init__(text)
        self.url = url
        self.username = username


def sign_in_text(url: str | None, *, username: str | None, reason: str | None, callback_uri: str) -> str:
    """The instructions, worded for a person reading them through the model."""
    who = f" for {username}" if username else ""
    lines = [f"Cway sign-in needed{who}" + (f": {reason.rstrip('.')}." if reason else ".")]
    if url:
        lines += [
            "Open this URL in a browser, sign in, then retry the same request:",
            url,
            "If the browser cannot reach this machine's localhost (remote or headless machine), copy the "
            f"address the browser lands on after signing in (it starts with {callback_uri}) and call the "
            "complete_login tool with redirect_url set to it.",
        ]
    else:
        lines.append("Call the login tool to get a sign-in URL, open it, sign in, then retry the same request.")
    return "\n".join(lines)


def raise_sign_in_needed(
    url: str | None,
    *,
    username: str | None,
    reason: str | None,
    flow_id: str | None,
    callback_uri: str,
) -> NoReturn:
    """Raise the shape of "please sign in" that this client understands."""
    text = sign_in_text(url, username=username, reason=reason, callback_uri=callback_uri)
    if url and flow_id and client_supports_url_elicitation():
        params = ElicitRequestURLParams(message=text, url=url, elicitation_id=flow_id)
        raise UrlElicitationRequiredError([params], message=text)
    raise SignInNeeded(text, url=url, username=username)
