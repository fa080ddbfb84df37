"""The approver's and project manager's day: reminders, revoking decisions, corrections, new
artworks, assignments, project notes and the project manager.

Rules (as strict as Cway's documentation implies, stricter where it is silent; every object is
looked up in the caller's current organisation, so another organisation's ids are "not found"):

* ``remindApprover``: the project's orderer or manager (or a system admin) reminds a user who is
  an approver of the artwork, while the artwork awaits a decision.
* ``revokeArtworkApprovalOrRejection``: each artwork is APPROVED or REJECTED and the caller is one
  of its approvers or manages the project; it goes back to FOR_REVIEW. All or nothing.
* ``addCorrection``: someone on the artwork (approver, supplier, receiver) or managing the project,
  while it is under review; the artwork becomes COMMENTED.
* ``createArtwork``, ``assignUsersToArtworks``, ``updateProjectNotes``, ``setProjectManager``: the
  project's orderer or manager (or a system admin), on a project that is not CLOSED; people and
  categories must belong to the same organisation.
"""

from __future__ import annotations

import uuid
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from cway_emulator.fixtures import Record
from cway_emulator.gql_context import APPROVABLE_STATES, Ctx, Resolver, ctx_of, forbidden, in_org, not_found
from cway_emulator.project_rules import manages, require_manages
from cway_emulator.resolvers_projects import add_event

DECIDED_STATES = frozenset({"APPROVED", "REJECTED"})
ROLES = (("approver", "_approvers"), ("supplier", "_suppliers"), ("receiver", "_receivers"))


def _project(ctx: Ctx, ident: str) -> Record:
    return in_org(ctx, ctx.store.projects, ident, "Project")


def _artwork(ctx: Ctx, ident: str) -> Record:
    return in_org(ctx, ctx.store.artworks, ident, "Artwork")


def _require_open(project: Record) -> None:
    if project["state"] == "CLOSED":
        raise GraphQLError(f"Project {project['id']} is closed; reopen it first")


def _open_project_they_manage(ctx: Ctx, ident: str) -> Record:
    """The project a change is about: visible, managed by the caller, and not closed."""
    project = _project(ctx, ident)
    require_manages(ctx, project)
    _require_open(project)
    return project


def artworks_in_project(ctx: Ctx, project: Record, artwork_ids: list[str]) -> list[Record]:
    """The named artworks, each visible and each in ``project`` (one rule for every batch change)."""
    if not artwork_ids:
        raise GraphQLError("artworkIds must not be empty")
    arts = [_artwork(ctx, i) for i in artwork_ids]
    for art in arts:
        if art["projectId"] != project["id"]:
            raise GraphQLError(f"Artwork {art['id']} does not belong to project {project['id']}")
    return arts


def _member(ctx: Ctx, *, user_id: str | None = None, username: str | None = None) -> Record:
    user = ctx.store.cway_user_by_id(str(user_id)) if user_id else ctx.store.cway_user(username)
    if user is None or ctx.org_id not in user["_orgs"]:
        raise not_found("User", user_id or username)
    return user


def m_remind_approver(_: Any, info: GraphQLResolveInfo, input: Record | None = None) -> bool:
    ctx = ctx_of(info)
    if input is None:
        raise GraphQLError("input is required")
    project = _project(ctx, input["projectId"])
    (art,) = artworks_in_project(ctx, project, [input["artworkId"]])
    require_manages(ctx, project)
    who = _member(ctx, username=str(input["username"]))["username"]
    if who not in art["_approvers"]:
        raise GraphQLError(f"{who} is not an approver of artwork {art['id']}")
    if art["state"] not in APPROVABLE_STATES:
        raise GraphQLError(f"Artwork {art['id']} is {art['state']}: there is no decision to remind about")
    with ctx.store.lock:
        ctx.store.reminders.append({"artworkId": art["id"], "username": who, "by": ctx.username, "at": ctx.now_ms()})
        add_event(ctx, art["id"], "APPROVER_REMINDED", f"{who} was reminded by {ctx.username} to review {art['name']}")
    return True


def m_revoke(_: Any, info: GraphQLResolveInfo, projectId: str, artworkIds: list[str]) -> bool:
    ctx = ctx_of(info)
    project = _project(ctx, projectId)
    arts = artworks_in_project(ctx, project, artworkIds)
    with ctx.store.lock:
        for art in arts:
            if ctx.username not in art["_approvers"] and not manages(ctx, project):
                raise forbidden(f"you cannot revoke the decision on artwork {art['id']}")
            if art["state"] not in DECIDED_STATES:
                raise GraphQLError(f"Artwork {art['id']} is {art['state']}: there is no approval or rejection")
        for art in arts:
            was = art["state"]
            art["state"] = "FOR_REVIEW"
            art["approvalDate"] = None
            add_event(ctx, art["id"], "DECISION_REVOKED", f"{was.lower()} of {art['name']} revoked by {ctx.username}")
            add_event(ctx, project["id"], "DECISION_REVOKED", f"{art['name']}: {was.lower()} revoked")
    return True


def m_add_correction(_: Any, info: GraphQLResolveInfo, input: Record) -> bool:
    ctx = ctx_of(info)
    art = _artwork(ctx, input["artworkId"])
    project = _project(ctx, art["projectId"])
    on_it = any(ctx.username in art.get(key, []) for _, key in ROLES)
    if not on_it and not manages(ctx, project):
        raise forbidden(f"you are not on artwork {art['id']}")
    if art["state"] not in APPROVABLE_STATES:
        raise GraphQLError(f"Artwork {art['id']} is {art['state']}: corrections are added while it is under review")
    text = str(input.get("text") or "").strip()
    if not text:
        raise GraphQLError("text must not be empty")
    for file_id in input.get("fileIds") or []:
        in_org(ctx, ctx.store.files, file_id, "File")
    with ctx.store.lock:
        corrections = art.setdefault("_corrections", [])
        corrections.append({"id": str(uuid.uuid4()), "number": len(corrections) + 1, "text": text, "by": ctx.username})
        art["state"] = "COMMENTED"
        add_event(ctx, art["id"], "CORRECTION_ADDED", f"{ctx.username} added a correction: {text}")
    return True


def m_create_artwork(_: Any, info: GraphQLResolveInfo, input: Record) -> bool:
    ctx = ctx_of(info)
    project = _open_project_they_manage(ctx, input["projectId"])
    org = ctx.store.orgs[project["_org"]]
    category = next((c for c in org["artworkCategories"] if c["id"] == str(input["categoryId"]).lower()), None)
    if category is None:
        raise not_found("Category", input["categoryId"])
    name = str(input.get("name") or "").strip()
    if not name:
        raise GraphQLError("name must not be empty")
    aid = str(uuid.uuid4())
    with ctx.store.lock:
        ctx.store.artworks[aid] = {
            "id": aid,
            "projectId": project["id"],
            "projectName": project["name"],
            "name": name,
            "description": input.get("description") or "",
            "state": "UNSTARTED",
            "created": ctx.today(),
            "startDate": input.get("startDate") or project["startDate"],
            "endDate": input.get("endDate") or project["endDate"],
            "latestActivity": ctx.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "_category": category["id"],
            "_approvers": [],
            "_suppliers": [],
            "_receivers": [],
            "_orderer": project["_orderer"],
            "_org": project["_org"],
        }
        add_event(ctx, aid, "ARTWORK_CREATED", f"{name} was added by {ctx.username}")
        add_event(ctx, project["id"], "ARTWORK_CREATED", f"{name} was added")
    return True


def m_assign(_: Any, info: GraphQLResolveInfo, input: Record) -> bool:
    ctx = ctx_of(info)
    project = _open_project_they_manage(ctx, input["projectId"])
    arts = artworks_in_project(ctx, project, input["artworkIds"])
    plan = [(_member(ctx, user_id=a["userId"])["username"], a) for a in input["assignments"]]
    with ctx.store.lock:
        for art in arts:
            for who, assignment in plan:
                for role, key in ROLES:
                    action = assignment.get(role) or "LEAVE_UNCHANGED"
                    people = art.setdefault(key, [])
                    if action == "ASSIGN" and who not in people:
                        people.append(who)
                        add_event(ctx, art["id"], "USER_ASSIGNED", f"{who} assigned as {role} by {ctx.username}")
                    elif action == "UN_ASSIGN" and who in people:
                        people.remove(who)
                        add_event(ctx, art["id"], "USER_UNASSIGNED", f"{who} removed as {role} by {ctx.username}")
    return True


def m_update_notes(_: Any, info: GraphQLResolveInfo, projectId: str, notes: str) -> bool:
    ctx = ctx_of(info)
    project = _project(ctx, projectId)
    require_manages(ctx, project)
    with ctx.store.lock:
        project["notes"] = notes
        add_event(ctx, project["id"], "NOTES_UPDATED", f"notes updated by {ctx.username}")
    return True


def m_set_manager(_: Any, info: GraphQLResolveInfo, projectId: str, projectManagerId: str) -> bool:
    ctx = ctx_of(info)
    project = _open_project_they_manage(ctx, projectId)
    user = _member(ctx, user_id=projectManagerId)
    if not user["_permissions"].get("canUseProjectManager"):
        raise forbidden(f"{user['username']} may not be a project manager")
    with ctx.store.lock:
        project["_manager"] = user["username"]
        add_event(ctx, project["id"], "PROJECT_MANAGER_SET", f"{user['username']} is now project manager")
    return True


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "Mutation": {
        "remindApprover": m_remind_approver,
        "revokeArtworkApprovalOrRejection": m_revoke,
        "addCorrection": m_add_correction,
        "createArtwork": m_create_artwork,
        "assignUsersToArtworks": m_assign,
        "updateProjectNotes": m_update_notes,
        "setProjectManager": m_set_manager,
    },
}
