"""Telling the person (through the model) that they must sign in, and how, in the client's own revision.

A tool call that needs a sign-in cannot finish: the answer must carry the sign-in URL and the
one step to take. Three shapes, chosen per client:

* **2026-07-28** with ``elicitation.url`` declared: an *input-required result* carrying a URL-mode
  elicitation (that revision retired error -32042). The client shows the URL and retries the
  call with the user's answer; on that retry the shim waits (bounded) for the sign-in to finish
  and then runs the tool (:func:`sign_in_answer`, used by ``DaemonAccess``).
* **2025-11-25** with ``elicitation.url`` declared: JSON-RPC error -32042 carrying the URL; the
  shim sends ``notifications/elicitation/complete`` when the sign-in finishes.
* everyone else: a tool result with ``isError`` whose text holds the URL and the instructions
  (a :class:`SignInNeeded` ``ToolError``). Clients that did not ask for elicitation must never
  see it: some (MCP Inspector's CLI) hang on that error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal, NoReturn

from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import UrlElicitationRequiredError
from mcp.types import ElicitRequest, ElicitRequestURLParams, InputRequiredResult
from mcp_types import URL_ELICITATION_REQUIRED

from cway_tools import INPUT_REQUIRED_SINCE, AskClient, request_scope

#: The key of the sign-in question inside an input-required result (and of its answer on the retry).
SIGN_IN_KEY = "cway_sign_in"

Shape = Literal["input_required", "url_error", "text"]


class SignInNeeded(ToolError):
    """A tool cannot run until the account signs in; the message says where and how."""

    def __init__(self, text: str, *, url: str | None, username: str | None) -> None:
        super().__init__(text)
        self.url = url
        self.username = username


class SignInInputRequired(AskClient):
    """The sign-in question as an input-required result; without the middleware, a -32042 error
    with the same URL (still an answer the client can use)."""

    def __init__(self, result: InputRequiredResult, *, text: str, url: str, flow_id: str) -> None:
        params = ElicitRequestURLParams(message=text, url=url, elicitation_id=flow_id)
        data = {"elicitations": [params.model_dump(by_alias=True, exclude_none=True, mode="json")]}
        super().__init__(result, URL_ELICITATION_REQUIRED, text, data)


@dataclass(frozen=True)
class SignInAnswer:
    """The client's answer to our sign-in question, on the retry of a 2026-07-28 call."""

    action: Literal["accept", "decline", "cancel"]
    flow_id: str | None
    username: str | None


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


def sign_in_answer() -> SignInAnswer | None:
    """Our sign-in question's answer if the request in flight is the retry that carries it."""
    responses = request_scope.request_param("inputResponses")
    answer = responses.get(SIGN_IN_KEY) if isinstance(responses, dict) else None
    if not isinstance(answer, dict):
        return None
    action = answer.get("action")
    if action not in ("accept", "decline", "cancel"):
        return None
    state: dict[str, str] = {}
    raw = request_scope.request_param("requestState")
    if isinstance(raw, str):  # already verified and unsealed by the SDK's RequestStateBoundary
        try:
            loaded = json.loads(raw)
        except ValueError:
            loaded = None
        state = loaded if isinstance(loaded, dict) else {}
    return SignInAnswer(action=action, flow_id=state.get("flow_id"), username=state.get("username"))


def sign_in_shape(url: str | None, flow_id: str | None) -> Shape:
    """How to ask this client to sign in (see the module docstring)."""
    if not url or not flow_id or not request_scope.supports_url_elicitation():
        return "text"
    if sign_in_answer() is not None:
        return "text"  # asked once in this call already: never make the client loop on the question
    return "input_required" if request_scope.protocol_at_least(INPUT_REQUIRED_SINCE) else "url_error"


def client_supports_url_elicitation() -> bool:
    """True only when the client both speaks a protocol with URL elicitation and declared it."""
    return request_scope.supports_url_elicitation()


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
    shape = sign_in_shape(url, flow_id)
    if shape == "input_required":
        assert url and flow_id
        # 2026-07-28 removed elicitationId: the flow id travels in the sealed request state instead.
        params = ElicitRequestURLParams(message=text, url=url)
        state = json.dumps({"flow_id": flow_id, "username": username})
        result = InputRequiredResult(input_requests={SIGN_IN_KEY: ElicitRequest(params=params)}, request_state=state)
        raise SignInInputRequired(result, text=text, url=url, flow_id=flow_id)
    if shape == "url_error":
        assert url and flow_id
        params = ElicitRequestURLParams(message=text, url=url, elicitation_id=flow_id)
        raise UrlElicitationRequiredError([params], message=text)
    raise SignInNeeded(text, url=url, username=username)
