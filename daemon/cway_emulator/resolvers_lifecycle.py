"""An artwork's life from start to delivery, and project administration.

Cway documents little of its state machine, so the emulator takes the strict reading and
refuses everything else (every batch is checked whole before anything changes):

* Who: every change below is the project's orderer's or manager's (or a system admin's), except
  ``checkoutArtwork``/``checkinArtwork`` (a supplier of the artwork, or its manager) and
  ``invalidateCorrection``/``validateCorrection`` (the correction's author, or the manager).
  Objects of another organisation are "not found"; people named must be members of the caller's
  current organisation; nothing changes on a CLOSED project (DELIVERED projects only take
  revocations and rejections of delivered artworks).
* Artwork states: start UNSTARTED -> FOR_REVIEW (needs an approver and a supplier); cancel any
  state but BUNDLED/SHIPPED/DELIVERED/CANCELED -> CANCELED; deliver APPROVED/BUNDLED -> DELIVERED
  (needs a receiver); revoke delivery DELIVERED -> BUNDLED; reject delivered DELIVERED -> REJECTED;
  delete only UNSTARTED or CANCELED artworks. Assignments only while the artwork is not finished,
  and an artwork under review keeps at least one approver.
* Checkout: one user at a time, while a new revision may be made (UNSTARTED, REJECTED, COMMENTED);
  checking in needs the caller's own checkout and at least one file of the organisation.
* Projects: launch PLANNED -> IN_PROGRESS; deliver an open project whose artworks are all
  DELIVERED or CANCELED (at least one delivered); delete only deleteable projects (PLANNED or
  CLOSED) unless ``force``; an export is a new zip file of the organisation, returned by id.
* Dates: an end date never before the start date (the other one read from the record if not given).
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from cway_emulator.fixtures import Record
from cway_emulator.gql_context import APPROVABLE_STATES, Ctx, Resolver, ctx_of, forbidden, in_org, not_found
from cway_emulator.project_rules import manages, require_manages
from cway_emulator.resolvers_projects import add_event, project_artworks
from cway_emulator.resolvers_workflows import artworks_in_project

REVISABLE_STATES = frozenset({"UNSTARTED", "REJECTED", "COMMENTED"})
UNCANCELABLE_STATES = frozenset({"BUNDLED", "SHIPPED", "DELIVERED", "CANCELED"})
FINISHED_FOR_PEOPLE = frozenset({"DELIVERED", "CANCELED"})
MAX_NAME_CHARS = 255


def _project(ctx: Ctx, ident: str) -> Record:
    return in_org(ctx, ctx.store.projects, ident, "Project")


def _artwork(ctx: Ctx, ident: str) -> Record:
    return in_org(ctx, ctx.store.artworks, ident, "Artwork")


def _managed(ctx: Ctx, project: Record, *, allow_delivered: bool = False) -> Record:
    require_manages(ctx, project)
    if project["state"] == "CLOSED" or (project["state"] == "DELIVERED" and not allow_delivered):
        raise GraphQLError(f"Project {project['id']} is {project['state']}; no changes are possible")
    return project


def _projects(ctx: Ctx, project_ids: list[str]) -> list[Record]:
    if not project_ids:
        raise GraphQLError("projectIds must not be empty")
    return [_project(ctx, i) for i in project_ids]


def _member(ctx: Ctx, *, user_id: str | None = None, username: str | None = None) -> Record:
    user = ctx.store.cway_user_by_id(str(user_id).lower()) if user_id else ctx.store.cway_user(username)
    if user is None or ctx.org_id not in user["_orgs"] or not user.get("enabled", True):
        raise not_found("User", user_id or username)
    return user


def _check_dates(start: str | None, end: str | None) -> None:
    try:
        first, last = (date.fromisoformat(str(d)) if d else None for d in (start, end))
    except ValueError:
        raise GraphQLError(f"Dates must look like 2026-05-31; got {start!r} and {end!r}") from None
    if first and last and last < first:
        raise GraphQLError(f"endDate {end} is before startDate {start}")


def _transition(
    info: GraphQLResolveInfo,
    projectId: str,
    artworkIds: list[str],
    *,
    allowed: frozenset[str],
    to: str,
    event: str,
    allow_delivered: bool = False,
    extra_check: Any = None,
    apply: Any = None,
) -> bool:
    """One state change on a batch: every artwork must be in ``allowed``, or nothing changes."""
    ctx = ctx_of(info)
    project = _managed(ctx, _project(ctx, projectId), allow_delivered=allow_delivered)
    arts = artworks_in_project(ctx, project, artworkIds)
    with ctx.store.lock:
        for art in arts:
            if art["state"] not in allowed:
                raise GraphQLError(f"Artwork {art['id']} is {art['state']}: it cannot be changed to {to}")
            if extra_check is not None:
                extra_check(art)
        for art in arts:
            was = art["state"]
            art["state"] = to
            if apply is not None:
                apply(ctx, art)
            add_event(ctx, art["id"], event, f"{art['name']}: {was} -> {to} by {ctx.username}")
            add_event(ctx, project["id"], event, f"{art['name']}: {was} -> {to}")
    return True


# --- artwork states ----------------------------------------------------------------------------


def _needs_people(art: Record) -> None:
    if not art["_approvers"] or not art["_suppliers"]:
        raise GraphQLError(f"Artwork {art['id']} needs at least one approver and one supplier before it starts")


def _needs_receiver(art: Record) -> None:
    if not art.get("_receivers"):
        raise GraphQLError(f"Artwork {art['id']} has no receiver to deliver to")


def _delivered(ctx: Ctx, art: Record) -> None:
    art["deliveryDate"] = ctx.clock.now().strftime("%Y-%m-%dT%H:%M:%S")
    art["_delivered_by"] = ctx.username
    art["_checked_out_by"] = None


def _undelivered(ctx: Ctx, art: Record) -> None:
    art["deliveryRevokeCount"] = int(art.get("deliveryRevokeCount") or 0) + 1


def m_start(_: Any, info: GraphQLResolveInfo, projectId: str, artworkIds: list[str]) -> bool:
    return _transition(
        info, projectId, artworkIds, allowed=frozenset({"UNSTARTED"}), to="FOR_REVIEW", event="ARTWORK_STARTED",
        extra_check=_needs_people,
    )  # fmt: skip


def m_cancel(_: Any, info: GraphQLResolveInfo, projectId: str, artworkIds: list[str]) -> bool:
    allowed = frozenset({"UNSTARTED", "FOR_REVIEW", "COMMENTED", "REJECTED", "APPROVED"})
    return _transition(info, projectId, artworkIds, allowed=allowed, to="CANCELED", event="ARTWORK_CANCELED")


def m_deliver(_: Any, info: GraphQLResolveInfo, projectId: str, artworkIds: list[str], message: Any = None) -> bool:
    if message is not None and len(str(message)) > 5_000:
        raise GraphQLError("message is longer than 5000 characters")
    return _transition(
        info, projectId, artworkIds, allowed=frozenset({"APPROVED", "BUNDLED"}), to="DELIVERED",
        event="ARTWORK_DELIVERED", extra_check=_needs_receiver, apply=_delivered,
    )  # fmt: skip


def m_revoke_delivery(_: Any, info: GraphQLResolveInfo, projectId: str, artworkIds: list[str]) -> bool:
    return _transition(
        info, projectId, artworkIds, allowed=frozenset({"DELIVERED"}), to="BUNDLED",
        event="DELIVERY_REVOKED", allow_delivered=True, apply=_undelivered,
    )  # fmt: skip


def m_reject_delivered(_: Any, info: GraphQLResolveInfo, projectId: str, artworkIds: list[str]) -> bool:
    return _transition(
        info, projectId, artworkIds, allowed=frozenset({"DELIVERED"}), to="REJECTED",
        event="DELIVERED_ARTWORK_REJECTED", allow_delivered=True, apply=_undelivered,
    )  # fmt: skip


def m_delete_artworks(_: Any, info: GraphQLResolveInfo, projectId: str, artworkIds: list[str]) -> bool:
    ctx = ctx_of(info)
    project = _managed(ctx, _project(ctx, projectId))
    arts = artworks_in_project(ctx, project, artworkIds)
    with ctx.store.lock:
        for art in arts:
            if art["state"] not in ("UNSTARTED", "CANCELED"):
                raise GraphQLError(
                    f"Artwork {art['id']} is {art['state']}: only unstarted or canceled ones are deleted"
                )
        for art in arts:
            del ctx.store.artworks[art["id"]]
            ctx.store.events.pop(art["id"], None)
            add_event(ctx, project["id"], "ARTWORK_DELETED", f"{art['name']} was deleted by {ctx.username}")
    return True


# --- artwork data and people -------------------------------------------------------------------


def m_change_name(_: Any, info: GraphQLResolveInfo, projectId: str, artworkId: str, name: str) -> bool:
    ctx = ctx_of(info)
    project = _managed(ctx, _project(ctx, projectId))
    (art,) = artworks_in_project(ctx, project, [artworkId])
    new = name.strip()
    if not new or len(new) > MAX_NAME_CHARS:
        raise GraphQLError(f"name must be 1-{MAX_NAME_CHARS} characters")
    with ctx.store.lock:
        old, art["name"] = art["name"], new
        add_event(ctx, art["id"], "ARTWORK_RENAMED", f"{old} renamed to {new} by {ctx.username}")
    return True


def m_set_artwork_dates(
    _: Any, info: GraphQLResolveInfo, projectId: str, artworkId: list[str], startDate: Any = None, endDate: Any = None
) -> bool:
    ctx = ctx_of(info)
    project = _managed(ctx, _project(ctx, projectId))
    arts = artworks_in_project(ctx, project, artworkId)
    if startDate is None and endDate is None:
        raise GraphQLError("give startDate, endDate or both")
    with ctx.store.lock:
        for art in arts:
            _check_dates(startDate or art.get("startDate"), endDate or art.get("endDate"))
        for art in arts:
            if startDate is not None:
                art["startDate"] = str(startDate)
            if endDate is not None:
                art["endDate"] = str(endDate)
            add_event(ctx, art["id"], "DATES_CHANGED", f"dates {art['startDate']}..{art['endDate']} by {ctx.username}")
    return True


def m_change_category(_: Any, info: GraphQLResolveInfo, projectId: str, artworkIds: list[str], categoryId: str) -> bool:
    ctx = ctx_of(info)
    project = _managed(ctx, _project(ctx, projectId))
    arts = artworks_in_project(ctx, project, artworkIds)
    org = ctx.store.orgs[project["_org"]]
    category = next((c for c in org["artworkCategories"] if c["id"] == str(categoryId).lower()), None)
    if category is None:
        raise not_found("Category", categoryId)
    with ctx.store.lock:
        for art in arts:
            art["_category"] = category["id"]
            add_event(ctx, art["id"], "CATEGORY_CHANGED", f"category set to {category['name']} by {ctx.username}")
    return True


def _assign(role: str, key: str) -> Resolver:
    def resolve(_: Any, info: GraphQLResolveInfo, input: Record | None = None) -> bool:
        ctx = ctx_of(info)
        if input is None:
            raise GraphQLError("input is required")
        art = _artwork(ctx, input["artworkId"])
        _managed(ctx, _project(ctx, art["projectId"]))
        if art["state"] in FINISHED_FOR_PEOPLE:
            raise GraphQLError(f"Artwork {art['id']} is {art['state']}: its people can no longer change")
        who = _member(ctx, username=str(input["username"]))["username"]
        with ctx.store.lock:
            people = art.setdefault(key, [])
            if who not in people:
                people.append(who)
                add_event(ctx, art["id"], "USER_ASSIGNED", f"{who} assigned as {role} by {ctx.username}")
        return True

    return resolve


def m_remove_approver(_: Any, info: GraphQLResolveInfo, input: Record | None = None) -> bool:
    ctx = ctx_of(info)
    if input is None:
        raise GraphQLError("input is required")
    art = _artwork(ctx, input["artworkId"])
    _managed(ctx, _project(ctx, art["projectId"]))
    who = _member(ctx, username=str(input["username"]))["username"]
    with ctx.store.lock:
        if who not in art["_approvers"]:
            raise GraphQLError(f"{who} is not an approver of artwork {art['id']}")
        if art["state"] in APPROVABLE_STATES and art["_approvers"] == [who]:
            raise GraphQLError(f"Artwork {art['id']} is under review; assign another approver before removing {who}")
        art["_approvers"].remove(who)
        add_event(ctx, art["id"], "USER_UNASSIGNED", f"{who} removed as approver by {ctx.username}")
    return True


# --- checkout / checkin ------------------------------------------------------------------------


def _may_edit(ctx: Ctx, art: Record) -> None:
    if ctx.username not in art["_suppliers"] and not manages(ctx, _project(ctx, art["projectId"])):
        raise forbidden(f"only a supplier of artwork {art['id']} or its project manager may edit it")


def m_checkout(_: Any, info: GraphQLResolveInfo, artworkId: str) -> bool:
    ctx = ctx_of(info)
    art = _artwork(ctx, artworkId)
    _may_edit(ctx, art)
    _managed_or_plain_open(ctx, art)
    with ctx.store.lock:
        holder = art.get("_checked_out_by")
        if holder == ctx.username:
            return True
        if holder:
            raise GraphQLError(f"Artwork {art['id']} is checked out by {holder}")
        if art["state"] not in REVISABLE_STATES:
            raise GraphQLError(f"Artwork {art['id']} is {art['state']}: no new revision can be made now")
        art["_checked_out_by"] = ctx.username
        add_event(ctx, art["id"], "ARTWORK_CHECKED_OUT", f"{art['name']} checked out by {ctx.username}")
    return True


def _managed_or_plain_open(ctx: Ctx, art: Record) -> None:
    project = _project(ctx, art["projectId"])
    if project["state"] in ("CLOSED", "DELIVERED"):
        raise GraphQLError(f"Project {project['id']} is {project['state']}; no changes are possible")


def m_checkin(_: Any, info: GraphQLResolveInfo, input: Record | None = None) -> bool:
    ctx = ctx_of(info)
    if input is None:
        raise GraphQLError("input is required")
    art = _artwork(ctx, input["artworkId"])
    if art.get("_checked_out_by") != ctx.username:
        holder = art.get("_checked_out_by")
        raise GraphQLError(f"Artwork {art['id']} is not checked out by you" + (f" (but by {holder})" if holder else ""))
    files = [*input["sourceFiles"], *input["resourceFiles"], *input["deliveryFiles"]]
    if not files:
        raise GraphQLError("check in at least one file")
    for f in files:
        in_org(ctx, ctx.store.files, f["fileId"], "File")
        if not str(f["filename"]).strip():
            raise GraphQLError("filename must not be empty")
    with ctx.store.lock:
        art["_checked_out_by"] = None
        names = ", ".join(str(f["filename"]) for f in files)
        add_event(ctx, art["id"], "ARTWORK_CHECKED_IN", f"{art['name']} checked in by {ctx.username}: {names}")
    return True


# --- corrections -------------------------------------------------------------------------------


def _correction_change(valid: bool) -> Resolver:
    def resolve(_: Any, info: GraphQLResolveInfo, artworkId: str, correctionId: str) -> bool:
        ctx = ctx_of(info)
        art = _artwork(ctx, artworkId)
        wanted = str(correctionId).lower()
        found = next((c for c in art.get("_corrections", []) if c["id"] == wanted), None)
        if found is None:
            raise not_found("Correction", correctionId)
        if found.get("by") != ctx.username and not manages(ctx, _project(ctx, art["projectId"])):
            raise forbidden("only the correction's author or the project manager may change it")
        with ctx.store.lock:
            if found.get("valid", True) == valid:
                raise GraphQLError(f"Correction {wanted} is already {'valid' if valid else 'invalid'}")
            found["valid"] = valid
            found["_invalidated_by"] = None if valid else ctx.username
            what = "restored" if valid else "invalidated"
            add_event(ctx, art["id"], f"CORRECTION_{what.upper()}", f"correction {found['number']} {what}")
        return True

    return resolve


def _current_revision(art: Record, info: GraphQLResolveInfo) -> Record | None:
    """The revision under work; the emulator keeps corrections on the artwork and shows them here."""
    revisions = art.get("_revisions") or []
    if revisions:
        return {**revisions[-1], "_artwork": art["id"]}
    if not art.get("_corrections") and art["state"] == "UNSTARTED":
        return None
    return {"id": art["id"], "name": art["name"], "revisionNo": 1, "closed": False, "_artwork": art["id"]}


def _corrections(rev: Record, info: GraphQLResolveInfo) -> list[Record]:
    ctx = ctx_of(info)
    art = ctx.store.artworks.get(str(rev.get("_artwork")))
    out = []
    for c in (art or {}).get("_corrections", []):
        out.append(
            {
                "id": c["id"],
                "text": c["text"],
                "number": c["number"],
                "valid": c.get("valid", True),
                "created": c.get("created") or "1970-01-01T00:00:00Z",
                "commentedBy": ctx.store.cway_user(c.get("by")) or {},
                "invalidatedBy": ctx.store.cway_user(c.get("_invalidated_by")),
            }
        )
    return out


# --- projects ----------------------------------------------------------------------------------


def m_launch(_: Any, info: GraphQLResolveInfo, projectIds: list[str]) -> bool:
    ctx = ctx_of(info)
    projects = _projects(ctx, projectIds)
    with ctx.store.lock:
        for p in projects:
            require_manages(ctx, p, to="launch")
            if p["state"] != "PLANNED":
                raise GraphQLError(f"Project {p['id']} is {p['state']}: only PLANNED projects are launched")
        for p in projects:
            p["state"] = "IN_PROGRESS"
            add_event(ctx, p["id"], "PROJECT_LAUNCHED", f"{p['name']} launched by {ctx.username}")
    return True


def m_deliver_project(_: Any, info: GraphQLResolveInfo, projectId: str) -> bool:
    ctx = ctx_of(info)
    project = _managed(ctx, _project(ctx, projectId))
    states = [a["state"] for a in project_artworks(ctx, project)]
    if not states or any(s not in FINISHED_FOR_PEOPLE for s in states) or "DELIVERED" not in states:
        raise GraphQLError(f"Project {project['id']} has artworks that are not delivered or canceled")
    with ctx.store.lock:
        project["state"] = "DELIVERED"
        add_event(ctx, project["id"], "PROJECT_DELIVERED", f"{project['name']} delivered by {ctx.username}")
    return True


def m_set_project_dates(_: Any, info: GraphQLResolveInfo, id: str, startDate: Any = None, endDate: Any = None) -> bool:
    ctx = ctx_of(info)
    project = _managed(ctx, _project(ctx, id))
    if startDate is None and endDate is None:
        raise GraphQLError("give startDate, endDate or both")
    _check_dates(startDate or project.get("startDate"), endDate or project.get("endDate"))
    with ctx.store.lock:
        if startDate is not None:
            project["startDate"] = str(startDate)
        if endDate is not None:
            project["endDate"] = str(endDate)
        add_event(ctx, project["id"], "DATES_CHANGED", f"{project['startDate']}..{project['endDate']}")
    return True


def m_change_basic(_: Any, info: GraphQLResolveInfo, input: Record | None = None) -> bool:
    ctx = ctx_of(info)
    if input is None:
        raise GraphQLError("input is required")
    project = _managed(ctx, _project(ctx, input["projectId"]))
    changes = {k: v for k, v in input.items() if k != "projectId" and v is not None}
    if not changes:
        raise GraphQLError("nothing to change")
    if "name" in changes and not (0 < len(str(changes["name"]).strip()) <= MAX_NAME_CHARS):
        raise GraphQLError(f"name must be 1-{MAX_NAME_CHARS} characters")
    order_no = changes.get("orderNumber")
    if order_no is not None:
        taken = [p for p in ctx.store.projects.values() if p["_org"] == project["_org"] and p["id"] != project["id"]]
        if not str(order_no).strip() or any(p["orderNo"] == order_no for p in taken):
            raise GraphQLError(f"order number {order_no!r} is empty or already used in this organisation")
    _check_dates(changes.get("startDate") or project.get("startDate"), changes.get("endDate") or project.get("endDate"))
    with ctx.store.lock:
        for key, field in (("name", "name"), ("description", "description"), ("orderNumber", "orderNo")):
            if key in changes:
                project[field] = str(changes[key]).strip() if key != "description" else str(changes[key])
        for key in ("startDate", "endDate"):
            if key in changes:
                project[key] = str(changes[key])
        if "name" in changes:
            for art in project_artworks(ctx, project):
                art["projectName"] = project["name"]
        add_event(ctx, project["id"], "PROJECT_DATA_CHANGED", f"{', '.join(sorted(changes))} changed by {ctx.username}")
    return True


def m_change_orderer(_: Any, info: GraphQLResolveInfo, projectId: str, ordererId: str) -> bool:
    ctx = ctx_of(info)
    project = _managed(ctx, _project(ctx, projectId))
    user = _member(ctx, user_id=ordererId)
    with ctx.store.lock:
        project["_orderer"] = user["username"]
        for art in project_artworks(ctx, project):
            art["_orderer"] = user["username"]
        add_event(ctx, project["id"], "ORDERER_CHANGED", f"{user['username']} is now the orderer")
    return True


def _project_files(ctx: Ctx, project: Record, files: list[str]) -> list[str]:
    if not files:
        raise GraphQLError("files must not be empty")
    return [in_org(ctx, ctx.store.files, f, "File")["id"] for f in files]


def m_add_files(_: Any, info: GraphQLResolveInfo, projectId: str, files: list[str]) -> bool:
    ctx = ctx_of(info)
    project = _managed(ctx, _project(ctx, projectId))
    ids = _project_files(ctx, project, files)
    with ctx.store.lock:
        attached = project.setdefault("_files", [])
        for fid in ids:
            if fid not in attached:
                attached.append(fid)
        add_event(ctx, project["id"], "FILES_ADDED", f"{len(ids)} file(s) added by {ctx.username}")
    return True


def m_remove_files(_: Any, info: GraphQLResolveInfo, projectId: str, files: list[str]) -> bool:
    ctx = ctx_of(info)
    project = _managed(ctx, _project(ctx, projectId))
    ids = _project_files(ctx, project, files)
    with ctx.store.lock:
        attached = project.setdefault("_files", [])
        missing = [fid for fid in ids if fid not in attached]
        if missing:
            raise GraphQLError(f"File {missing[0]} is not attached to project {project['id']}")
        project["_files"] = [fid for fid in attached if fid not in ids]
        add_event(ctx, project["id"], "FILES_REMOVED", f"{len(ids)} file(s) removed by {ctx.username}")
    return True


def m_delete_projects(_: Any, info: GraphQLResolveInfo, projectIds: list[str], force: bool | None = None) -> bool:
    ctx = ctx_of(info)
    projects = _projects(ctx, projectIds)
    with ctx.store.lock:
        for p in projects:
            require_manages(ctx, p, to="delete")
            if not force and p["state"] not in ("PLANNED", "CLOSED"):
                raise GraphQLError(f"Project {p['id']} is {p['state']}: delete with force: true")
        for p in projects:
            for art in project_artworks(ctx, p):
                del ctx.store.artworks[art["id"]]
                ctx.store.events.pop(art["id"], None)
            del ctx.store.projects[p["id"]]
            ctx.store.events.pop(p["id"], None)
    return True


def m_export(_: Any, info: GraphQLResolveInfo, projectId: str) -> str:
    ctx = ctx_of(info)
    project = _project(ctx, projectId)
    on_it = any(
        ctx.username in a.get(k, []) for a in project_artworks(ctx, project) for k in ("_approvers", "_suppliers")
    )
    if not (manages(ctx, project) or on_it or ctx.permissions.get("canSeeOtherProjects")):
        raise forbidden(f"you cannot export project {project['id']}")
    body = json.dumps({"project": project["name"], "artworks": [a["name"] for a in project_artworks(ctx, project)]})
    fid = str(uuid.uuid4())
    with ctx.store.lock:
        ctx.store.files[fid] = {
            "id": fid,
            "name": f"{project['name']}.zip",
            "size": len(body),
            "fullSize": len(body),
            "contentType": "application/zip",
            "created": ctx.now_ms(),
            "isVideo": False,
            "barcodeStatus": "NONE",
            "_folder": None,
            "_org": project["_org"],
            "_export_of": project["id"],
        }
        add_event(ctx, project["id"], "PROJECT_EXPORTED", f"exported by {ctx.username}")
    return fid


def _files_of(project: Record, info: GraphQLResolveInfo) -> list[Record]:
    files = ctx_of(info).store.files
    return [files[f] for f in project.get("_files", []) if f in files]


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "Project": {"files": _files_of},
    "Artwork": {"currentRevision": _current_revision},
    "Revision": {"corrections": _corrections},
    "Mutation": {
        "startArtworks": m_start,
        "cancelArtworks": m_cancel,
        "deliverArtworks": m_deliver,
        "revokeDeliveryOfArtworks": m_revoke_delivery,
        "rejectAndChangeDeliveredArtworks": m_reject_delivered,
        "changeArtworkName": m_change_name,
        "setDatesOnArtworks": m_set_artwork_dates,
        "assignApproverToArtwork": _assign("approver", "_approvers"),
        "assignSupplierToArtwork": _assign("supplier", "_suppliers"),
        "assignReceiverToArtwork": _assign("receiver", "_receivers"),
        "removeApproverFromArtwork": m_remove_approver,
        "checkoutArtwork": m_checkout,
        "checkinArtwork": m_checkin,
        "validateCorrection": _correction_change(True),
        "invalidateCorrection": _correction_change(False),
        "changeCategoryOfArtworks": m_change_category,
        "deleteArtworks": m_delete_artworks,
        "launchProjects": m_launch,
        "deliverProject": m_deliver_project,
        "setDatesOnProject": m_set_project_dates,
        "changeBasicProjectData": m_change_basic,
        "changeOrderer": m_change_orderer,
        "addFilesToProject": m_add_files,
        "removeFilesFromProject": m_remove_files,
        "deleteProjects": m_delete_projects,
        "exportProjectToFile": m_export,
    },
}
