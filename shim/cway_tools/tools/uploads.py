"""A designer's "here is the new version": upload a file and attach it where it belongs.

One tool, ``upload_file``: the file goes to Cway's storage through the presigned URL of
``tempFileUploadUrl`` (no bearer on that PUT; progress reported when the client asked for it), then
one mutation attaches it: a new revision of an artwork, new artworks in a project, a file of an
artwork, a media-centre folder, or a project's files. Everything that can be checked is checked
before a byte leaves the machine (:mod:`cway_tools.local_files`: the path, the file's type by
name and content, its size). Through the stdio shim it reads a path from the person's disk;
through ``cway-mcp serve`` it refuses paths and takes the content (base64) instead.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, ClassVar, Literal, Protocol, runtime_checkable

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from cway_tools import documents as D
from cway_tools import request_scope
from cway_tools.gateway_protocol import CwayGateway
from cway_tools.local_files import FileRefused, LocalFile, check_name_and_start, open_local_file
from cway_tools.tool_support import Out, Username, optional_text, require_uuid, writes

TOOLSET = "artworks"

#: Content given inline (``cway-mcp serve``) travels in the JSON-RPC request: keep it small.
MAX_INLINE_BYTES = 10 * 1024 * 1024

Target = Literal["new_revision", "new_artwork", "artwork_file", "folder", "project"]
FileKind = Literal["SOURCE", "DELIVERY", "PREVIEW", "POSTDELIVERY", "UNBOUND", "RESOURCE"]


@runtime_checkable
class UploadGateway(Protocol):
    accepts_local_paths: ClassVar[bool]

    async def put_upload(
        self,
        url: str,
        body: AsyncIterator[bytes],
        *,
        size: int,
        content_type: str,
        on_sent: Callable[[int], Awaitable[None]] | None = None,
    ) -> None: ...


class Uploaded(Out):
    file_id: str = Field(description="The new file's id in Cway.")
    name: str
    size: int = Field(description="Bytes uploaded.")
    attached_to: Target
    target_id: str = Field(description="The artwork, project or folder it was attached to.")


class _Inline:
    def __init__(self, name: str, data: bytes) -> None:
        self.name, self.size = name, len(data)
        self.content_type = check_name_and_start(name, data[:16])
        self._data = data

    async def chunks(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self._data), 256 * 1024):
            yield self._data[start : start + 256 * 1024]

    def close(self) -> None:
        return None


def _inline(content_base64: str, filename: str | None) -> _Inline:
    name = (filename or "").strip()
    if not name or "/" in name or "\\" in name:
        raise ToolError("With content_base64, give filename: the file's name with its extension, no folder.")
    if len(content_base64) > MAX_INLINE_BYTES * 4 // 3 + 4:
        raise ToolError(f"The content is larger than {MAX_INLINE_BYTES} bytes; upload it from the web app.")
    try:
        data = base64.b64decode(content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise ToolError("content_base64 is not valid base64.") from None
    if not data:
        raise ToolError("The content is empty.")
    try:
        return _Inline(name, data)
    except FileRefused as exc:
        raise ToolError(str(exc)) from None


def _targets(
    attach_to: Target, artwork_id: str | None, project_id: str | None, folder_id: str | None
) -> dict[str, str]:
    need = {
        "new_revision": ("artwork_id",),
        "new_artwork": ("project_id",),
        "artwork_file": ("project_id", "artwork_id"),
        "folder": ("folder_id",),
        "project": ("project_id",),
    }[attach_to]
    given = {"artwork_id": artwork_id, "project_id": project_id, "folder_id": folder_id}
    out: dict[str, str] = {}
    for key in need:
        value = given[key]
        if not value:
            raise ToolError(f"attach_to={attach_to} needs {key}.")
        out[key] = require_uuid(value, key)
    return out


def register(server: MCPServer, gateway: CwayGateway) -> None:
    @server.tool(title="Upload a file", annotations=writes(destructive=False, idempotent=False))
    async def upload_file(
        attach_to: Annotated[
            Target,
            Field(
                description="new_revision (artwork_id), new_artwork (project_id), artwork_file (project_id, "
                "artwork_id), folder (folder_id) or project (project_id)."
            ),
        ],
        path: Annotated[str | None, Field(description="Full path of a file on this computer.")] = None,
        content_base64: Annotated[
            str | None, Field(description="The file's content, base64 (when no path can be given).")
        ] = None,
        filename: Annotated[str | None, Field(description="File name with extension, with content_base64.")] = None,
        artwork_id: str | None = None,
        project_id: str | None = None,
        folder_id: str | None = None,
        comment: Annotated[str | None, Field(description="A new revision's comment.")] = None,
        file_type: Annotated[FileKind, Field(description="For artwork_file: the file's role.")] = "SOURCE",
        username: Username = None,
    ) -> Uploaded:
        """Upload a file (PDF, images, artwork formats, documents; at most 200 MB) to Cway and attach it:
        a new revision of an artwork, new artworks, an artwork's file, a media-centre folder or a project."""
        targets = _targets(attach_to, artwork_id, project_id, folder_id)
        if not isinstance(gateway, UploadGateway):
            raise ToolError("Uploads are not available through this connection.")
        if (path is None) == (content_base64 is None):
            raise ToolError("Give either path or content_base64 (with filename), not both and not neither.")
        source: LocalFile | _Inline
        if path is not None:
            if not gateway.accepts_local_paths:
                raise ToolError(
                    "This server cannot read files from your computer: send the content as content_base64 "
                    "with filename instead."
                )
            try:
                source = open_local_file(path)
            except FileRefused as exc:
                raise ToolError(str(exc)) from None
        else:
            assert content_base64 is not None
            source = _inline(content_base64, filename)
        try:
            file_id = str(uuid.uuid4())
            data = await gateway.execute(
                D.TEMP_FILE_UPLOAD_URL, {"fileId": file_id, "filename": source.name}, username=username
            )
            url = data.get("tempFileUploadUrl")
            if not isinstance(url, str) or not url:
                raise ToolError("Cway gave no upload address; nothing was sent.")

            async def progress(sent: int) -> None:
                await request_scope.report_progress(sent, source.size, f"uploading {source.name}")

            await gateway.put_upload(
                url, source.chunks(), size=source.size, content_type=source.content_type, on_sent=progress
            )
        finally:
            source.close()
        await _attach(gateway, attach_to, targets, file_id, source.name, optional_text(comment), file_type, username)
        target = targets.get("artwork_id") if attach_to == "new_revision" else None
        target = target or targets.get("folder_id") or targets.get("artwork_id") or targets["project_id"]
        return Uploaded(file_id=file_id, name=source.name, size=source.size, attached_to=attach_to, target_id=target)


async def _attach(
    gateway: CwayGateway,
    attach_to: Target,
    targets: dict[str, str],
    file_id: str,
    name: str,
    comment: str | None,
    file_type: str,
    username: str | None,
) -> None:
    calls: dict[str, tuple[Any, dict[str, Any], str]] = {
        "new_revision": (
            D.NEW_REVISION_FROM_FILE,
            {"artworkId": targets.get("artwork_id"), "fileId": file_id, "comment": comment},
            "newRevisionFromFile",
        ),
        "new_artwork": (
            D.CREATE_ARTWORKS_FROM_FILES,
            {"projectId": targets.get("project_id"), "files": [{"fileId": file_id}]},
            "createArtworksFromFiles",
        ),
        "artwork_file": (
            D.ADD_ARTWORK_FILES,
            {
                "projectId": targets.get("project_id"),
                "artworkId": targets.get("artwork_id"),
                "files": [{"fileId": file_id, "fileType": file_type}],
            },
            "addArtworkFiles",
        ),
        "folder": (D.ADD_FILE_TO_FOLDER, {"folderId": targets.get("folder_id"), "fileId": file_id}, "addFileToFolder"),
        "project": (
            D.UPLOAD_PROJECT_FILES,
            {"projectId": targets.get("project_id"), "files": [file_id]},
            "addFilesToProject",
        ),
    }
    document, variables, field = calls[attach_to]
    try:
        data = await gateway.execute(document, variables, username=username)
    except ToolError as exc:
        raise ToolError(f"{name} was uploaded (file id {file_id}) but could not be attached: {exc}") from None
    if data.get(field) is not True:
        raise ToolError(f"{name} was uploaded (file id {file_id}) but Cway did not attach it.")
