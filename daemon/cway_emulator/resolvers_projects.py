"""Projects: queries, computed fields and the project-level mutations.

State changes are written into the emulator's store so that the next query sees them, like a
real backend. Anything not visible to the caller's organisation is "not found".
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from cway_emulator.fixtures import Record
from cway_emulator.gql_context import (
    FINISHED_ARTWORK_STATES,
    Ctx,
    Resolver,
    contains,
    ctx_of,
    in_org,
    org_records,
    paginate,
    require,
    user_ref,
)
from cway_emulator.project_rules import is_theirs, require_manages

OPEN_PROJECT_STATES = frozenset({"PLANNED", "IN_PROGRESS", "STAND_BY"})


def project_artworks(ctx: Ctx, project: Record) -> list[Record]:
    return [a for a in ctx.store.artworks.values() if a["projectId"] == project["id"]]


def add_event(ctx: Ctx, target_id: str, name: str, description: str) -> None:
    events = ctx.store.events.setdefault(target_id, [])
    events.append({"id": str(uuid.uuid4()), "timestamp": ctx.now_ms(), "name": name, "description": description})


def _closable(ctx: Ctx, project: Record) -> bool:
    unfinished = [a for a in project_artworks(ctx, project) if a["state"] not in FINISHED_ARTWORK_STATES]
    return project["state"] != "CLOSED" and not unfinished


# --- Query ---------------------------------------------------------------------------------
def q_projects(_: Any, info: GraphQLResolveInfo, filter: Record | None = None, paging: Record | None = None) -> Record:
    ctx = ctx_of(info)
    flt = filter or {}
    items = sorted(org_records(ctx, ctx.store.projects), key=lambda p: (p["created"], p["id"]), reverse=True)
    if flt.get("name"):
        items = [p for p in items if contains([p["name"], p.get("description")], flt["name"])]
    if flt.get("orderNo"):
        items = [p for p in items if p["orderNo"] == flt["orderNo"]]
    if flt.get("orderer"):
        items = [p for p in items if contains([p["_orderer"]], flt["orderer"])]
    if flt.get("onlyMine"):
        items = [p for p in items if is_theirs(ctx, p)]
    if flt.get("states"):
        items = [p for p in items if p["state"] in flt["states"]]
    page_items, page = paginate(items, paging)
    return {"projects": page_items, "page": page, "totalHits": len(items)}


def q_project(_: Any, info: GraphQLResolveInfo, id: str) -> Record:
    ctx = ctx_of(info)
    return in_org(ctx, ctx.store.projects, id, "Project")


def q_planner_projects(_: Any, info: GraphQLResolveInfo) -> list[Record]:
    ctx = ctx_of(info)
    out = []
    for p in org_records(ctx, ctx.store.projects):
        arts = project_artworks(ctx, p)
        out.append(
            {
                "id": p["id"],
                "name": p["name"],
                "state": p["state"],
                "startDate": p.get("startDate"),
                "endDate": p.get("endDate"),
                "percentageDone": _progress(ctx, p)["percentageDone"],
                "artworks": [
                    {
                        "id": a["id"],
                        "name": a["name"],
                        "state": a["state"],
                        "category": "Print",
                        "startDate": a.get("startDate"),
                        "endDate": a.get("endDate"),
                    }
                    for a in arts
                ],
            }
        )
    return out


def q_project_history(_: Any, info: GraphQLResolveInfo, projectId: str) -> list[Record]:
    ctx = ctx_of(info)
    require(ctx, "canSeeProjectHistory")
    project = in_org(ctx, ctx.store.projects, projectId, "Project")
    return list(ctx.store.events.get(project["id"], []))


def q_ai_summary(_: Any, info: GraphQLResolveInfo, projectId: str, audience: str) -> str:
    ctx = ctx_of(info)
    p = in_org(ctx, ctx.store.projects, projectId, "Project")
    prog = _progress(ctx, p)
    return (
        f"[emulated summary for {audience}] {p['name']} ({p['orderNo']}) is {p['state']}: "
        f"{prog['artworksDone']} of {prog['totalArtworks']} artworks done, "
        f"{prog['artworksInProgress']} in progress. Ends {p.get('endDate') or 'n/a'}."
    )


def q_open_by_month(_: Any, info: GraphQLResolveInfo) -> list[Record]:
    ctx = ctx_of(info)
    today = ctx.clock.now().date()
    months = []
    y, m = today.year, today.month
    for _i in range(12):
        months.append(date(y, m, 1))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    out = []
    for first in reversed(months):
        nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1).isoformat()
        count = sum(
            1 for p in org_records(ctx, ctx.store.projects) if p["created"] < nxt and p["state"] in OPEN_PROJECT_STATES
        )
        out.append({"month": first.isoformat(), "count": count})
    return out


# --- Project fields ------------------------------------------------------------------------
def _progress(ctx: Ctx, project: Record) -> Record:
    arts = project_artworks(ctx, project)
    total = len(arts)
    done = sum(a["state"] in FINISHED_ARTWORK_STATES for a in arts)
    unstarted = sum(a["state"] == "UNSTARTED" for a in arts)
    progress = total - done - unstarted

    def pct(n: int) -> float:
        return round(100.0 * n / total, 1) if total else 0.0

    return {
        "totalArtworks": total,
        "artworksDone": done,
        "artworksInProgress": progress,
        "artworksUnstarted": unstarted,
        "percentageDone": pct(done),
        "percentageInProgress": pct(progress),
        "percentageUnstarted": pct(unstarted),
    }


def _status(ctx: Ctx, project: Record) -> str:
    if project["state"] in ("CLOSED", "DELIVERED"):
        return "GREY"
    states = {a["state"] for a in project_artworks(ctx, project)}
    if "REJECTED" in states:
        return "RED"
    if states & {"FOR_REVIEW", "COMMENTED"}:
        return "YELLOW"
    return "GREEN" if states else "BLUE"


def _project_permissions(p: Record, info: GraphQLResolveInfo) -> Record:
    ctx = ctx_of(info)
    mine = is_theirs(ctx, p)
    return {
        "id": p["id"],
        "projectId": p["id"],
        "canManageProject": mine,
        "canManageArtworks": mine,
        "canSeeAllArtworks": True,
        "canSeeDeliveries": True,
        "canChangeNotes": mine,
    }


PROJECT_FIELDS: dict[str, Resolver] = {
    "artworks": lambda p, info: project_artworks(ctx_of(info), p),
    "orderer": lambda p, info: user_ref(ctx_of(info), p["_orderer"]),
    "projectManager": lambda p, info: user_ref(ctx_of(info), p.get("_manager")),
    "progress": lambda p, info: _progress(ctx_of(info), p),
    "status": lambda p, info: _status(ctx_of(info), p),
    "planning": lambda p, info: {"start": p.get("startDate"), "end": p.get("endDate")},
    "projectPermissions": _project_permissions,
    "isInClosableState": lambda p, info: _closable(ctx_of(info), p),
    "isInDeleteableState": lambda p, info: p["state"] in ("PLANNED", "CLOSED"),
}


# --- Mutations -----------------------------------------------------------------------------
def m_create_project(_: Any, info: GraphQLResolveInfo, input: Record) -> bool:
    ctx = ctx_of(info)
    require(ctx, "canCreateProject")
    orderer = ctx.store.cway_user_by_id(str(input["ordererId"]))
    if orderer is None or ctx.org_id not in orderer["_orgs"]:
        raise GraphQLError(f"Orderer {input['ordererId']} not found in the current organisation")
    if not str(input["name"]).strip():
        raise GraphQLError("Project name must not be empty")
    pid = str(input.get("projectId") or uuid.uuid4()).lower()
    with ctx.store.lock:
        if pid in ctx.store.projects:
            raise GraphQLError(f"Project {pid} already exists")
        count = len(ctx.store.projects) + 1
        ctx.store.projects[pid] = {
            "id": pid,
            "name": input["name"],
            "state": "IN_PROGRESS",
            "orderNo": input.get("orderNo") or f"EMU-{count:04d}",
            "description": input.get("description"),
            "notes": None,
            "silent": False,
            "created": ctx.today(),
            "startDate": input.get("startDate"),
            "endDate": input.get("endDate"),
            "lastActivity": ctx.clock.now().strftime("%Y-%m-%dT%H:%M:%S"),
            "_org": ctx.org_id,
            "_orderer": orderer["username"],
            "_manager": ctx.username,
        }
        add_event(ctx, pid, "PROJECT_CREATED", f"{input['name']} was created by {ctx.username}")
    return True


def _set_state(ctx: Ctx, ids: list[str], state: str, check: Any) -> None:
    with ctx.store.lock:
        projects = [in_org(ctx, ctx.store.projects, i, "Project") for i in ids]
        for p in projects:  # validate all first: a failing batch changes nothing
            check(p)
        for p in projects:
            if p["state"] != state:
                p["state"] = state
                add_event(ctx, p["id"], f"PROJECT_{state}", f"{p['name']} set to {state} by {ctx.username}")


def _require_manager(ctx: Ctx, p: Record) -> None:
    """Closing and reopening are the orderer's, the project manager's or a system admin's."""
    require_manages(ctx, p, to="manage")


def m_close_projects(_: Any, info: GraphQLResolveInfo, projectIds: list[str], force: bool | None = None) -> bool:
    ctx = ctx_of(info)

    def check(p: Record) -> None:
        _require_manager(ctx, p)
        if not force and p["state"] != "CLOSED" and not _closable(ctx, p):
            raise GraphQLError(f"Project {p['id']} has unfinished artworks; close with force: true")

    _set_state(ctx, projectIds, "CLOSED", check)
    return True


def m_reopen_projects(_: Any, info: GraphQLResolveInfo, projectIds: list[str]) -> bool:
    ctx = ctx_of(info)

    def check(p: Record) -> None:
        _require_manager(ctx, p)
        if p["state"] != "CLOSED":
            raise GraphQLError(f"Project {p['id']} is not closed")

    _set_state(ctx, projectIds, "IN_PROGRESS", check)
    return True


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "Query": {
        "projects": q_projects,
        "project": q_project,
        "plannerProjects": q_planner_projects,
        "projectHistory": q_project_history,
        "openAIProjectSummary": q_ai_summary,
        "openProjectsCountByMonth": q_open_by_month,
    },
    "Project": PROJECT_FIELDS,
    "Mutation": {
        "createProject": m_create_project,
        "closeProjects": m_close_projects,
        "reopenProjects": m_reopen_projects,
    },
}
