"""How a Cway failure is worded for the model: short, and never holding a token.

Shared by the HTTP gateway and the WebSocket subscriptions (both report GraphQL ``errors``), and
kept apart from both so neither has to import the other.
"""

from __future__ import annotations

from typing import Any

MAX_ERRORS_SHOWN = 3
MAX_ERROR_CHARS = 300
REDACTED = "[redacted]"


def scrub(text: str, secrets: list[str]) -> str:
    """Remove every secret from ``text`` (Cway or a proxy might echo a header back)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def graphql_errors_text(errors: Any) -> str:
    """GraphQL ``errors`` as one line: the first few messages, each cut short."""
    messages: list[str] = []
    for err in errors if isinstance(errors, list) else [errors]:
        message = err.get("message") if isinstance(err, dict) else None
        text = str(message if message is not None else err).strip().replace("\n", " ")
        messages.append(text[:MAX_ERROR_CHARS] + ("…" if len(text) > MAX_ERROR_CHARS else ""))
    shown = "; ".join(messages[:MAX_ERRORS_SHOWN])
    more = len(messages) - MAX_ERRORS_SHOWN
    return f"Cway reported an error: {shown}" + (f" (and {more} more)" if more > 0 else "")
