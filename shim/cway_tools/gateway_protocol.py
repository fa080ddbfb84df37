"""The seam between the Cway tools and whatever sends GraphQL to Cway.

The tools only know *what* to ask (a :class:`~cway_tools.documents.Document` and its
variables) and *as whom* (``username``); the gateway knows *how*: which bearer (from the daemon,
or a static token), the 401 → forced refresh → one retry dance, timeouts, and turning transport
and GraphQL errors into short :class:`~mcp.server.mcpserver.exceptions.ToolError` messages.
Subscriptions (AI answers arrive that way) are part of the seam for the same reason.
Keeping it a Protocol lets the tools be tested against the emulator with a plain static-token
gateway, and lets the runtime swap transports without touching a tool.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from cway_tools.documents import Document


@runtime_checkable
class CwayGateway(Protocol):
    """Sends GraphQL to Cway on behalf of one of the user's accounts."""

    async def execute(
        self,
        document: Document,
        variables: Mapping[str, Any] | None = None,
        *,
        username: str | None = None,
    ) -> dict[str, Any]:
        """Run a registered document; return the GraphQL ``data`` object.

        ``username`` picks the account to act as; ``None`` means "the default account" and the
        implementation resolves it. Raise ``ToolError`` with a short, specific message on
        authentication problems, HTTP errors, GraphQL ``errors`` and timeouts — the message is
        shown to the model verbatim, so it should say what to do next.
        """
        ...

    async def execute_text(
        self,
        text: str,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
        *,
        username: str | None,
    ) -> dict[str, Any]:
        """Run a free-form document (already checked by the caller); same contract as :meth:`execute`."""
        ...

    async def fetch_file(self, url: str, *, username: str | None = None, max_bytes: int) -> tuple[bytes, str]:
        """GET a Cway file URL (on Cway's own host) with the account's bearer; ``(bytes, content type)``.
        ``ToolError`` when it is elsewhere, refused, or larger than ``max_bytes``."""
        ...

    def subscribe(
        self,
        document: Document,
        variables: Mapping[str, Any] | None = None,
        *,
        username: str | None = None,
        on_subscribed: Callable[[], None] | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Start a subscription document; iterate the ``data`` of each event until Cway completes it.

        Same account resolution and error contract as :meth:`execute`. The caller bounds the wait
        and closes the iterator (``contextlib.aclosing``) when it has what it needs.
        ``on_subscribed`` is called once the subscription has been sent (see ``subscriptions.py``).
        """
        ...
