"""Project artworks: queries, computed fields, approve/reject mutations.

Only an artwork's approvers may approve or reject it, and only while it is under review;
batch mutations validate every artwork before changing any, so a failing batch is a no-op.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from cway_emulator.fixtures import Record
from cway_emulator.gql_context import APPROVABLE_STATES, Ctx, Resolver, ctx_of, forbidden, in_org, org_records, user_ref
from cway_emulator.previews import preview_file
from cway_emulator.resolvers_projects import add_event


def _artwork(ctx: Ctx, ident: str) -> Record:
    return in_org(ctx, ctx.store.artworks, ident, "Artwork")


def q_artwork(_: Any, info: GraphQLResolveInfo, id: str) -> Record:
    return _artwork(ctx_of(info), id)


def q_to_approve(_: Any, info: GraphQLResolveInfo) -> list[Record]:
    ctx = ctx_of(info)
    return [
        a
        for a in org_records(ctx, ctx.store.artworks)
        if ctx.username in a["_approvers"] and a["state"] in APPROVABLE_STATES
    ]


def q_to_upload(_: Any, info: GraphQLResolveInfo) -> list[Record]:
    ctx = ctx_of(info)
    return [
        a
        for a in org_records(ctx, ctx.store.artworks)
        if ctx.username in a["_suppliers"] and a["state"] in ("UNSTARTED", "REJECTED", "COMMENTED")
    ]


def q_artwork_history(_: Any, info: GraphQLResolveInfo, artworkId: str) -> list[Record]:
    ctx = ctx_of(info)
    return list(ctx.store.events.get(_artwork(ctx, artworkId)["id"], []))


# --- Artwork fields --------------------------------------------------------------------------
def _artwork_user(ctx: Ctx, art: Record, username: str) -> Record:
    user = ctx.store.cway_user(username) or {}
    return {
        "userId": user.get("id"),
        "username": username,
        "name": user.get("name", username),
        "isApprover": username in art["_approvers"],
        "isSupplier": username in art["_suppliers"],
        "isReceiver": username in art.get("_receivers", []),
    }


def _users(art: Record, info: GraphQLResolveInfo, which: str | None = None) -> list[Record]:
    ctx = ctx_of(info)
    every = [*art["_approvers"], *art["_suppliers"], *art.get("_receivers", [])]
    names = art.get(which, []) if which else list(dict.fromkeys(every))
    return [_artwork_user(ctx, art, n) for n in names]


def _category(art: Record, info: GraphQLResolveInfo) -> Record:
    org: Record = ctx_of(info).store.orgs[art["_org"]]
    chosen = [c for c in org["artworkCategories"] if c["id"] == art.get("_category")]
    return dict(chosen[0] if chosen else org["defaultCategory"])


def _status(art: Record) -> str:
    return {"REJECTED": "RED", "FOR_REVIEW": "YELLOW", "COMMENTED": "YELLOW", "UNSTARTED": "BLUE"}.get(
        art["state"], "GREEN"
    )


def _permissions(art: Record, info: GraphQLResolveInfo) -> Record:
    ctx = ctx_of(info)
    approver = ctx.username in art["_approvers"] and art["state"] in APPROVABLE_STATES
    return {
        "id": art["id"],
        "mayApprove": approver,
        "mayReject": approver,
        "canUploadNewRevision": ctx.username in art["_suppliers"],
        "canDownloadRevision": True,
    }


ARTWORK_FIELDS: dict[str, Resolver] = {
    "orderer": lambda a, info: user_ref(ctx_of(info), a["_orderer"]),
    "category": _category,
    "users": _users,
    "approvers": lambda a, info: _users(a, info, "_approvers"),
    "suppliers": lambda a, info: _users(a, info, "_suppliers"),
    "receivers": lambda a, info: _users(a, info, "_receivers"),
    "status": lambda a, info: _status(a),
    "artworkPermissions": _permissions,
    "isInApprovableState": lambda a, info: a["state"] in APPROVABLE_STATES,
    "isInRejectableState": lambda a, info: a["state"] in APPROVABLE_STATES,
    "isInCommentableState": lambda a, info: a["state"] in APPROVABLE_STATES,
    "isInCreateNewRevisionState": lambda a, info: a["state"] in ("UNSTARTED", "REJECTED", "COMMENTED"),
    "previewFile": lambda a, info: preview_file(a),
}


# --- Mutations -------------------------------------------------------------------------------
def _check_decidable(ctx: Ctx, art: Record) -> None:
    if ctx.username not in art["_approvers"]:
        raise forbidden(f"you are not an approver of artwork {art['id']}")
    if art["state"] not in APPROVABLE_STATES:
        raise GraphQLError(f"Artwork {art['id']} is {art['state']} and cannot be approved or rejected")


def _decide(ctx: Ctx, arts: list[Record], state: str, comment: str | None = None) -> bool:
    with ctx.store.lock:
        for art in arts:
            _check_decidable(ctx, art)
        for art in arts:
            art["state"] = state
            if state == "APPROVED":
                art["approvalDate"] = ctx.clock.now().strftime("%Y-%m-%dT%H:%M:%S")
            note = f": {comment}" if comment else ""
            add_event(ctx, art["id"], f"ARTWORK_{state}", f"{art['name']} {state.lower()} by {ctx.username}{note}")
            add_event(ctx, art["projectId"], f"ARTWORK_{state}", f"{art['name']} {state.lower()}")
    return True


def m_approve(_: Any, info: GraphQLResolveInfo, artworkId: str) -> bool:
    ctx = ctx_of(info)
    return _decide(ctx, [_artwork(ctx, artworkId)], "APPROVED")


def m_reject(_: Any, info: GraphQLResolveInfo, input: Record | None = None) -> bool:
    ctx = ctx_of(info)
    if input is None:
        raise GraphQLError("input is required")
    if str(input["username"]).lower() != ctx.username:
        raise forbidden("you can only reject as yourself")
    return _decide(ctx, [_artwork(ctx, input["artworkId"])], "REJECTED", input.get("comment"))


def _batch(info: GraphQLResolveInfo, projectId: str, artworkIds: list[str], state: str) -> bool:
    ctx = ctx_of(info)
    project = in_org(ctx, ctx.store.projects, projectId, "Project")
    arts = [_artwork(ctx, i) for i in artworkIds]
    for art in arts:
        if art["projectId"] != project["id"]:
            raise GraphQLError(f"Artwork {art['id']} does not belong to project {project['id']}")
    return _decide(ctx, arts, state)


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "Query": {
        "artwork": q_artwork,
        "artworksToApprove": q_to_approve,
        "artworksToUpload": q_to_upload,
        "artworkHistory": q_artwork_history,
    },
    "Artwork": ARTWORK_FIELDS,
    "Mutation": {
        "approveArtwork": m_approve,
        "rejectArtwork": m_reject,
        "approveArtworks": lambda _, info, projectId, artworkIds: _batch(info, projectId, artworkIds, "APPROVED"),
        "rejectArtworks": lambda _, info, projectId, artworkIds: _batch(info, projectId, artworkIds, "REJECTED"),
    },
}
