"""Files in: ``tempFileUploadUrl`` and the presigned PUT behind it, then the mutations that use the file.

Cway hands out "a temporary URL for uploading a file directly to storage" (the schema's words):
an object-store presigned PUT. The emulator models the strict reading of one:

* the URL is for one file id the caller chose, in the caller's organisation; it expires
  (:data:`UPLOAD_URL_SECONDS`), is signed (HMAC over id, expiry and content type; compared in
  constant time) and works once;
* the PUT must send exactly the signed ``Content-Type`` (from the file name, as S3 signs it), a
  ``Content-Length`` no larger than :data:`MAX_UPLOAD_BYTES` and a body of exactly that length,
  and **no** ``Authorization`` header (a presigned URL is its own authorisation; S3 refuses a
  second mechanism, and a Cway bearer has no business reaching a storage host);
* until the PUT has finished, the file id is unknown to every mutation ("File … not found").

Then ``newRevisionFromFile`` (a supplier of the artwork or its project manager; not on a closed
project or a finished artwork; the artwork's history gets the event), ``createArtworksFromFiles``
(the project's manager), ``addArtworkFiles`` (a supplier or the manager) and ``addFileToFolder``
(write rights on the folder) take the uploaded file.
"""

from __future__ import annotations

import hashlib
import hmac
import mimetypes
import secrets
import uuid
from typing import Any
from urllib.parse import quote

from graphql import GraphQLError, GraphQLResolveInfo

from cway_emulator.fixtures import Record
from cway_emulator.folder_access import require_right, visible_folder
from cway_emulator.gql_context import Ctx, Resolver, ctx_of, forbidden, in_org
from cway_emulator.project_rules import manages
from cway_emulator.resolvers_projects import add_event

UPLOAD_URL_SECONDS = 900
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
#: The signing key of this emulator process (an object store's secret).
_SECRET = secrets.token_bytes(32)
FINISHED = ("APPROVED", "BUNDLED", "DELIVERED", "CANCELED")


def content_type_for(filename: str) -> str:
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    return guessed or "application/octet-stream"


def signature(file_id: str, expires: int, content_type: str) -> str:
    return hmac.new(_SECRET, f"{file_id}\n{expires}\n{content_type}".encode(), hashlib.sha256).hexdigest()


def q_temp_upload_url(_: Any, info: GraphQLResolveInfo, fileId: str, filename: str | None = None) -> str:
    ctx = ctx_of(info)
    file_id = str(fileId).lower()
    name = (filename or "").strip()
    if not name or "/" in name or "\\" in name or len(name) > 255:
        raise GraphQLError("filename must be a plain file name (no path), 1-255 characters")
    with ctx.store.lock:
        if file_id in ctx.store.files or file_id in ctx.store.uploads:
            raise GraphQLError(f"File id {file_id} is already in use")
        expires = ctx.now_ms() // 1000 + UPLOAD_URL_SECONDS
        kind = content_type_for(name)
        ctx.store.uploads[file_id] = {
            "id": file_id,
            "name": name,
            "contentType": kind,
            "expires": expires,
            "_org": ctx.org_id,
            "_by": ctx.username,
            "_used": False,
        }
    return (
        f"{ctx.base_url}/_emulator/upload/{file_id}?expires={expires}"
        f"&type={quote(kind, safe='')}&sig={signature(file_id, expires, kind)}"
    )


class UploadRefused(Exception):
    """What the storage host answers instead of 200 (status, S3-style code, message)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def accept_upload(ctx_store: Any, now_s: int, file_id: str, query: dict[str, str], headers: dict[str, str]) -> Record:
    """Check one presigned PUT's URL and headers (before its body is read); the pending upload, or why not."""
    pending = ctx_store.uploads.get(file_id.lower())
    if pending is None or pending["_used"]:
        raise UploadRefused(403, "AccessDenied", "no upload is pending for this URL (or it was used)")
    try:
        expires = int(query.get("expires", ""))
    except ValueError:
        raise UploadRefused(403, "AccessDenied", "malformed expiry") from None
    wanted = signature(pending["id"], expires, query.get("type", ""))
    if not hmac.compare_digest(wanted, query.get("sig", "")) or expires != pending["expires"]:
        raise UploadRefused(403, "SignatureDoesNotMatch", "the signature does not match")
    if now_s > expires:
        raise UploadRefused(403, "AccessDenied", "Request has expired")
    if "authorization" in headers:
        raise UploadRefused(400, "InvalidArgument", "Only one auth mechanism allowed")
    if headers.get("content-type", "") != pending["contentType"]:
        raise UploadRefused(403, "SignatureDoesNotMatch", f"Content-Type must be {pending['contentType']}")
    length = headers.get("content-length")
    if length is None or not length.isdigit():
        raise UploadRefused(411, "MissingContentLength", "You must provide the Content-Length HTTP header")
    if int(length) > MAX_UPLOAD_BYTES:
        raise UploadRefused(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
    return pending


def store_upload(ctx_store: Any, now_ms: int, pending: Record, body: bytes) -> None:
    with ctx_store.lock:
        pending["_used"] = True
        ctx_store.files[pending["id"]] = {
            "id": pending["id"],
            "name": pending["name"],
            "size": len(body),
            "fullSize": len(body),
            "contentType": pending["contentType"],
            "created": now_ms,
            "isVideo": pending["contentType"].startswith("video/"),
            "barcodeStatus": "NONE",
            "_folder": None,
            "_org": pending["_org"],
            "_uploaded_by": pending["_by"],
            "_sha256": hashlib.sha256(body).hexdigest(),
        }


# --- the mutations that take an uploaded file --------------------------------------------------


def _file(ctx: Ctx, file_id: str) -> Record:
    return in_org(ctx, ctx.store.files, file_id, "File")


def _artwork_to_edit(ctx: Ctx, artwork_id: str) -> tuple[Record, Record]:
    art = in_org(ctx, ctx.store.artworks, artwork_id, "Artwork")
    project = in_org(ctx, ctx.store.projects, art["projectId"], "Project")
    if ctx.username not in art.get("_suppliers", []) and not manages(ctx, project):
        raise forbidden(f"only a supplier of artwork {art['id']} or its project manager may add files to it")
    if project["state"] == "CLOSED" or art["state"] in FINISHED:
        raise GraphQLError(f"Artwork {art['id']} is {art['state']}; it takes no new files")
    return art, project


def m_new_revision(_: Any, info: GraphQLResolveInfo, artworkId: str, fileId: str, comment: str | None = None) -> bool:
    ctx = ctx_of(info)
    art, _project = _artwork_to_edit(ctx, artworkId)
    f = _file(ctx, fileId)
    with ctx.store.lock:
        revisions = art.setdefault("_revisions", [])
        number = len(revisions) + 1
        for earlier in revisions:
            earlier["closed"] = True
        revisions.append(
            {
                "id": str(uuid.uuid4()),
                "name": f["name"],
                "comment": comment,
                "closed": False,
                "messageSent": False,
                "revisionNo": number,
                "_file": f["id"],
                "_by": ctx.username,
            }
        )
        if art["state"] in ("REJECTED", "COMMENTED", "UNSTARTED"):
            art["state"] = "FOR_REVIEW"
        add_event(ctx, art["id"], "NEW_REVISION", f"revision {number} ({f['name']}) uploaded by {ctx.username}")
    return True


def m_create_artworks_from_files(_: Any, info: GraphQLResolveInfo, projectId: str, files: list[Record]) -> bool:
    ctx = ctx_of(info)
    project = in_org(ctx, ctx.store.projects, projectId, "Project")
    if not manages(ctx, project):
        raise forbidden(f"only the manager or orderer of project {project['id']} may create artworks in it")
    if project["state"] == "CLOSED":
        raise GraphQLError(f"Project {project['id']} is closed")
    chosen = [(_file(ctx, spec["fileId"]), spec) for spec in files]  # all checked before anything changes
    with ctx.store.lock:
        for f, spec in chosen:
            art_id = str(spec.get("artworkId") or uuid.uuid4()).lower()
            if art_id in ctx.store.artworks:
                raise GraphQLError(f"Artwork {art_id} already exists")
            name = spec.get("name") or f["name"].rsplit(".", 1)[0]
            template = next(iter(ctx.store.artworks.values()))
            ctx.store.artworks[art_id] = {
                **{k: v for k, v in template.items() if not k.startswith("_")},
                "id": art_id,
                "name": name,
                "projectId": project["id"],
                "projectName": project["name"],
                "state": "UNSTARTED",
                "status": "OK",
                "_org": project["_org"],
                "_approvers": [],
                "_suppliers": [],
                "_receivers": [],
                "_revisions": [
                    {
                        "id": str(uuid.uuid4()),
                        "name": f["name"],
                        "comment": None,
                        "closed": False,
                        "messageSent": False,
                        "revisionNo": 1,
                        "_file": f["id"],
                        "_by": ctx.username,
                    }
                ],
            }
            add_event(ctx, project["id"], "ARTWORK_CREATED", f"{name} created from {f['name']} by {ctx.username}")
    return True


def m_add_artwork_files(
    _: Any,
    info: GraphQLResolveInfo,
    projectId: str,
    artworkId: str,
    files: list[Record] | None = None,
    setBundledState: bool | None = None,
) -> bool:
    ctx = ctx_of(info)
    art, project = _artwork_to_edit(ctx, artworkId)
    if project["id"] != str(projectId).lower():
        raise GraphQLError(f"Artwork {art['id']} is not in project {projectId}")
    chosen = [(_file(ctx, spec["fileId"]), spec["fileType"]) for spec in files or []]
    if not chosen:
        raise GraphQLError("files must name at least one file")
    with ctx.store.lock:
        for f, kind in chosen:
            art.setdefault("_files", []).append({"fileId": f["id"], "fileType": kind})
        if setBundledState and art["state"] == "APPROVED":
            art["state"] = "BUNDLED"
        add_event(ctx, art["id"], "FILES_ADDED", f"{len(chosen)} file(s) added by {ctx.username}")
    return True


def m_add_file_to_folder(_: Any, info: GraphQLResolveInfo, folderId: str, fileId: str) -> bool:
    ctx = ctx_of(info)
    folder = visible_folder(ctx, folderId)
    require_right(ctx, folder, "write")
    f = _file(ctx, fileId)
    with ctx.store.lock:
        if f.get("_folder") == folder["id"]:
            return True
        f["_folder"] = folder["id"]
    return True


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "Query": {"tempFileUploadUrl": q_temp_upload_url},
    "Revision": {"file": lambda rev, info: ctx_of(info).store.files.get(str(rev.get("_file")))},
    "Mutation": {
        "newRevisionFromFile": m_new_revision,
        "createArtworksFromFiles": m_create_artworks_from_files,
        "addArtworkFiles": m_add_artwork_files,
        "addFileToFolder": m_add_file_to_folder,
    },
}
