"""Shared plumbing for the Cway tools: argument types, validation, paging, compact results.

Why it exists: every tool must validate the same kinds of input (UUIDs, page sizes, account
names) with the same clear messages *before* calling Cway, and must answer in the same shape
(compact JSON text + structured content matching the published output schema, with ``page``,
``page_size``, ``total`` and ``has_more`` wherever there is a list).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from cway_tools.document_registry import Document
    from cway_tools.gateway_protocol import CwayGateway

T = TypeVar("T")

MAX_PAGE_SIZE = 100
MAX_BULK_IDS = 100
EXAMPLE_UUID = "0000000d-0000-4000-8000-000000000001"

# --- argument types (the Field metadata ends up in each tool's input schema) -----------------

Username = Annotated[
    str | None,
    Field(
        description=(
            # short on purpose: it is in nearly every tool's schema, so every word costs ~100 times per turn
            "Signed-in Cway account to act as (e.g. alice@contoso.example); omit for the default one."
        )
    ),
]
Page = Annotated[int, Field(ge=1, le=10_000, description="1-based page number.")]
PageSize = Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE, description="Items per page, 1-100.")]


def _uuid_field(what: str) -> Any:
    return Field(description=f"{what} (a UUID such as {EXAMPLE_UUID}).", json_schema_extra={"format": "uuid"})


ProjectId = Annotated[str, _uuid_field("Project id")]
ArtworkId = Annotated[str, _uuid_field("Artwork id")]


# --- MCP annotations -------------------------------------------------------------------------


def read_only(*, idempotent: bool = True) -> ToolAnnotations:
    """Annotations for a tool that only reads Cway.

    The tool's display title is not here: it is ``Tool.title`` (``@server.tool(title=...)``), the one
    place every tool (auth and Cway) keeps it.

    ``open_world_hint`` is False on every Cway tool: they act on one closed, known system
    (the user's Cway organisation), not on the open internet. ``idempotent=False`` is for reads
    that start something new each time (an AI job: a new thread and a new answer per call).
    """
    return ToolAnnotations(
        read_only_hint=True, destructive_hint=False, idempotent_hint=idempotent, open_world_hint=False
    )


def writes(*, destructive: bool, idempotent: bool) -> ToolAnnotations:
    """Annotations for a tool that changes Cway data; ``destructive`` = hard to undo."""
    return ToolAnnotations(
        read_only_hint=False,
        destructive_hint=destructive,
        idempotent_hint=idempotent,
        open_world_hint=False,
    )


# --- validation ------------------------------------------------------------------------------


def require_uuid(value: str, what: str) -> str:
    """Canonical lower-case UUID, or a ToolError that says which argument was wrong and why."""
    text = (value or "").strip()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise ToolError(
            f"{what} must be a UUID such as {EXAMPLE_UUID}; got {value!r}. "
            "Look the id up with a listing tool first (e.g. list_projects, list_artworks_to_approve)."
        ) from None


def require_uuids(values: Sequence[str], what: str) -> list[str]:
    """Validate a non-empty list of UUIDs (deduplicated, order kept, at most MAX_BULK_IDS)."""
    if not values:
        raise ToolError(f"{what} must contain at least one id.")
    if len(values) > MAX_BULK_IDS:
        raise ToolError(f"{what} may contain at most {MAX_BULK_IDS} ids; got {len(values)}. Split the request.")
    seen: dict[str, None] = {}
    for v in values:
        seen.setdefault(require_uuid(v, what), None)
    return list(seen)


def require_text(value: str | None, what: str, *, max_chars: int = 5_000) -> str:
    """Non-blank text of bounded length (comments, names)."""
    text = (value or "").strip()
    if not text:
        raise ToolError(f"{what} must not be empty.")
    if len(text) > max_chars:
        raise ToolError(f"{what} is {len(text)} characters; the limit is {max_chars}.")
    return text


def optional_text(value: str | None) -> str | None:
    """Blank strings from clients mean "not given"."""
    text = (value or "").strip()
    return text or None


def optional_date(value: str | None, what: str) -> str | None:
    """An optional ``YYYY-MM-DD`` argument, normalised; a ToolError that shows the expected form otherwise."""
    text = optional_text(value)
    if text is None:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ToolError(f"{what} must be a date like 2026-05-31; got {value!r}.") from None


# --- output ----------------------------------------------------------------------------------


class Out(BaseModel):
    """Base of every output model: ignore extra keys, keep the published schema strict.

    ``defer_build``: pydantic builds a model's validator and serializer when it is first used, not
    when the class is defined; the tools' models are only needed by a tool's first call
    (``lazy_tools.py``), so importing the tool modules stays cheap at the shim's start.
    """

    model_config = ConfigDict(extra="ignore", defer_build=True)


class In(BaseModel):
    """Base of every structured *input* (an object inside a tool's arguments): unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


class Paged(Out):
    """Paging information returned with every list."""

    page: int = Field(description="1-based page number of this answer.")
    page_size: int
    total: int = Field(description="Total number of matching items across all pages.")
    has_more: bool = Field(description="True if a later page exists; ask again with page + 1.")


def paging(page: int, page_size: int, total: int) -> dict[str, Any]:
    """The four paging fields for a 1-based ``page``."""
    return {"page": page, "page_size": page_size, "total": total, "has_more": page * page_size < total}


def page_slice(items: Sequence[T], page: int, page_size: int) -> tuple[list[T], dict[str, Any]]:
    """Client-side paging for Cway lists that have no server paging (artworksToApprove, shares...)."""
    start = (page - 1) * page_size
    return list(items[start : start + page_size]), paging(page, page_size, len(items))


def tool_result(model: BaseModel, text: str | None = None, *, is_error: bool = False) -> CallToolResult:
    """Structured content without nulls, plus ``text`` (by default the same JSON, compact) as the text block.

    The SDK's default text rendering is indented and keeps every null; for lists of projects
    that roughly doubles the tokens a model has to read for the same information. The sign-in
    tools pass a sentence for a person instead. ``is_error`` marks an answer that still carries
    useful detail (a bulk change where nothing succeeded).
    """
    data = model.model_dump(mode="json", exclude_none=True)
    if text is None:
        text = model.model_dump_json(exclude_none=True)
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data, is_error=is_error)


def millis_to_iso(value: Any) -> str | None:
    """Cway's ``Long`` timestamps are epoch milliseconds; models read ISO 8601 far better."""
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC).isoformat().replace("+00:00", "Z")
    except (TypeError, ValueError, OverflowError):
        return str(value)


def as_list(value: Any) -> list[Any]:
    """GraphQL lists may be null; treat that as empty."""
    return list(value) if isinstance(value, list) else []


def dicts(value: Any) -> Iterable[dict[str, Any]]:
    """The dict entries of a possibly-null GraphQL list."""
    return (v for v in as_list(value) if isinstance(v, dict))


async def visible_object(
    gateway: CwayGateway, document: Document, field: str, object_id: str, what: str, username: str | None
) -> dict[str, Any]:
    """Read one object by id, or say plainly that it is missing or hidden from this account.

    Cway answers null both for an id that does not exist and for one the caller may not see, so
    the message names both rather than guessing.
    """
    found = (await gateway.execute(document, {"id": object_id}, username=username)).get(field)
    if not isinstance(found, dict):
        raise ToolError(f"{what} {object_id} was not found, or this account cannot see it.")
    return found
