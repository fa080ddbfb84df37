"""Ask the person to confirm a destructive change before it is sent, where the client can ask.

Why: a model can misread "approve the poster" or act on the wrong project, and approvals,
rejections, revocations, closing projects or replacing notes are hard to undo. Clients that
support form elicitation get a short form saying what will change and how many artworks it
touches; the mutation runs only on an explicit "yes". (The upstream Cway MCP server moved to a
preview-then-confirm pattern for the same reason.) Clients without elicitation keep relying on
the tools' ``destructiveHint``; the model is told in each description to confirm with the user.

The question is asked in the client's revision: 2025-11-25 gets an ``elicitation/create``
request during the call; 2026-07-28 gets an input-required result and the tool runs again on the
retry. There the question's digest rides the sealed ``requestState``, so an answer counts only for
the exact question that was shown: if Cway's data changed between the two rounds, the preview
changes and the person is asked again.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ElicitRequest, ElicitRequestFormParams, InputRequiredResult
from mcp_types import INTERNAL_ERROR

from cway_tools import request_scope
from cway_tools.request_scope import INPUT_REQUIRED_SINCE, AskClient

CONFIRM_KEY = "cway_confirm"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "confirm": {"type": "boolean", "title": "Go ahead", "description": "Yes: make this change in Cway."}
    },
    "required": ["confirm"],
}


class NotConfirmed(ToolError):
    """The person said no (or closed the question): nothing was changed."""


def can_confirm() -> bool:
    """Whether :func:`confirm_change` would ask: lets a tool skip reading what only the question needs."""
    return request_scope.supports_form_elicitation()


async def confirm_change(summary: str) -> bool:
    """Ask "``summary`` — go ahead?" where the client can show a form; return whether it was asked.

    Returns False without asking when the client has no form elicitation (the destructive
    annotation is what protects those). Raises :class:`NotConfirmed` unless the answer is yes.
    """
    if not request_scope.supports_form_elicitation():
        return False
    message = f"{summary}\n\nGo ahead?"
    if request_scope.protocol_at_least(INPUT_REQUIRED_SINCE):
        _check_answer_or_ask(message)
        return True
    ctx = request_scope.current()
    assert ctx is not None  # supports_form_elicitation() saw a request
    try:
        answer = await ctx.session.elicit_form(message, SCHEMA, related_request_id=ctx.request_id)
    except Exception as exc:  # no back-channel after all: do not change anything unasked
        raise ToolError(f"Could not ask for confirmation ({type(exc).__name__}); nothing was changed.") from None
    _accept_or_refuse(answer.action, answer.content)
    return True


def _digest(message: str) -> str:
    return hashlib.sha256(message.encode()).hexdigest()[:32]


def _check_answer_or_ask(message: str) -> None:
    asked = _asked_digest()
    responses = request_scope.request_param("inputResponses")
    answer = responses.get(CONFIRM_KEY) if isinstance(responses, dict) else None
    if isinstance(answer, dict) and asked == _digest(message):
        _accept_or_refuse(answer.get("action"), answer.get("content"))
        return
    request = ElicitRequest(params=ElicitRequestFormParams(message=message, requested_schema=SCHEMA))
    state = json.dumps({"confirm": _digest(message)})
    result = InputRequiredResult(input_requests={CONFIRM_KEY: request}, request_state=state)
    raise AskClient(result, INTERNAL_ERROR, "This change needs the user's confirmation; the client did not ask.")


def _asked_digest() -> str | None:
    raw = request_scope.request_param("requestState")  # verified and unsealed by the SDK's boundary
    if not isinstance(raw, str):
        return None
    try:
        state = json.loads(raw)
    except ValueError:
        return None
    value = state.get("confirm") if isinstance(state, dict) else None
    return value if isinstance(value, str) else None


def _accept_or_refuse(action: Any, content: Any) -> None:
    if action == "accept" and isinstance(content, dict) and content.get("confirm") is True:
        return
    raise NotConfirmed("The user did not confirm the change; nothing was changed in Cway.")
