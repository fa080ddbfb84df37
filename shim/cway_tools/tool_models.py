"""Output models shared by several tools, and their conversion from GraphQL ``data``.

Why not return Cway's JSON as-is: its shapes are deep and camelCase, with epoch-millisecond
timestamps and nested user objects. These models flatten what a model needs into stable,
documented, snake_case fields, which also become the tools' published output schemas.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from cway_tools.tool_support import Out, dicts, millis_to_iso


class Person(Out):
    username: str
    name: str | None = None


def person(value: Any) -> Person | None:
    if not isinstance(value, dict) or not value.get("username"):
        return None
    return Person(username=value["username"], name=value.get("name"))


def people(value: Any) -> list[Person]:
    return [p for p in (person(v) for v in dicts(value)) if p is not None]


class Progress(Out):
    total_artworks: int
    done: int
    in_progress: int
    unstarted: int
    percent_done: float


class ProjectRow(Out):
    """One project as listed: identity, state, dates, people and progress."""

    id: str
    name: str
    state: str = Field(description="PLANNED, IN_PROGRESS, STAND_BY, DELIVERED or CLOSED.")
    status: str | None = Field(default=None, description="Traffic light: GREY, BLUE, GREEN, YELLOW or RED.")
    order_no: str | None = None
    purchase_order_no: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    last_activity: str | None = None
    orderer: Person | None = None
    project_manager: Person | None = None
    progress: Progress | None = None


def project_row(p: dict[str, Any]) -> ProjectRow:
    prog = p.get("progress")
    return ProjectRow(
        id=p["id"],
        name=p["name"],
        state=p["state"],
        status=p.get("status"),
        order_no=p.get("orderNo") or None,
        purchase_order_no=p.get("refOrderNo") or None,
        start_date=p.get("startDate"),
        end_date=p.get("endDate"),
        last_activity=p.get("lastActivity"),
        orderer=person(p.get("orderer")),
        project_manager=person(p.get("projectManager")),
        progress=Progress(
            total_artworks=prog["totalArtworks"],
            done=prog["artworksDone"],
            in_progress=prog["artworksInProgress"],
            unstarted=prog["artworksUnstarted"],
            percent_done=prog["percentageDone"],
        )
        if isinstance(prog, dict)
        else None,
    )


class ArtworkRow(Out):
    """One artwork as listed: what it is, where it belongs, its state and who decides."""

    id: str
    name: str
    state: str = Field(
        description="UNSTARTED, FOR_REVIEW, COMMENTED, REJECTED, APPROVED, BUNDLED, SHIPPED, DELIVERED or CANCELED."
    )
    status: str | None = None
    project_id: str | None = None
    project_name: str | None = None
    category: str | None = None
    start_date: str | None = None
    due_date: str | None = None
    latest_activity: str | None = None
    approvers: list[Person] = Field(default_factory=list)
    suppliers: list[Person] = Field(default_factory=list)
    can_approve: bool | None = Field(default=None, description="Cway says the artwork is in an approvable state.")
    can_reject: bool | None = Field(default=None, description="Cway says the artwork is in a rejectable state.")


def artwork_row(a: dict[str, Any]) -> ArtworkRow:
    cat = a.get("category")
    return ArtworkRow(
        id=a["id"],
        name=a["name"],
        state=a["state"],
        status=a.get("status"),
        project_id=a.get("projectId"),
        project_name=a.get("projectName"),
        category=cat.get("name") if isinstance(cat, dict) else None,
        start_date=a.get("startDate"),
        due_date=a.get("endDate"),
        latest_activity=a.get("latestActivity"),
        approvers=people(a.get("approvers")),
        suppliers=people(a.get("suppliers")),
        can_approve=a.get("isInApprovableState"),
        can_reject=a.get("isInRejectableState"),
    )


class FileInfo(Out):
    id: str
    name: str
    size_bytes: int | None = None
    content_type: str | None = None
    created: str | None = None
    file_type: str | None = Field(
        default=None, description="For artwork files: SOURCE, DELIVERY, PREVIEW, POSTDELIVERY, UNBOUND or RESOURCE."
    )


def file_info(f: Any, file_type: str | None = None) -> FileInfo | None:
    if not isinstance(f, dict) or not f.get("id"):
        return None
    return FileInfo(
        id=f["id"],
        name=f.get("name") or "",
        size_bytes=f.get("size"),
        content_type=f.get("contentType"),
        created=millis_to_iso(f.get("created")),
        file_type=file_type,
    )


class Event(Out):
    timestamp: str | None = None
    name: str
    description: str


def events_newest_first(value: Any) -> list[Event]:
    """History events, newest first (what "what happened lately?" needs)."""
    rows = sorted(dicts(value), key=lambda e: e.get("timestamp") or 0, reverse=True)
    return [
        Event(timestamp=millis_to_iso(e.get("timestamp")), name=e.get("name", ""), description=e.get("description", ""))
        for e in rows
    ]
