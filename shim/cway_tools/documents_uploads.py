"""The GraphQL documents of uploads: the presigned URL, and the mutations that attach an uploaded file.
Part of the one registry, re-exported by ``documents``, validated like every document."""

from __future__ import annotations

from cway_tools.document_registry import _mutation, _query

TEMP_FILE_UPLOAD_URL = _query(
    "TempFileUploadUrl",
    "($fileId: UUID!, $filename: String) { tempFileUploadUrl(fileId: $fileId, filename: $filename) }",
)
NEW_REVISION_FROM_FILE = _mutation(
    "NewRevisionFromFile",
    "($artworkId: UUID!, $fileId: UUID!, $comment: String) "
    "{ newRevisionFromFile(artworkId: $artworkId, fileId: $fileId, comment: $comment) }",
)
CREATE_ARTWORKS_FROM_FILES = _mutation(
    "CreateArtworksFromFiles",
    "($projectId: UUID!, $files: [ArtworkFromFile!]!) { createArtworksFromFiles(projectId: $projectId, files: $files) }",
)
ADD_ARTWORK_FILES = _mutation(
    "AddArtworkFiles",
    "($projectId: UUID!, $artworkId: UUID!, $files: [FileWithTypeInput]) "
    "{ addArtworkFiles(projectId: $projectId, artworkId: $artworkId, files: $files) }",
)
ADD_FILE_TO_FOLDER = _mutation(
    "AddFileToFolder", "($folderId: UUID!, $fileId: UUID!) { addFileToFolder(folderId: $folderId, fileId: $fileId) }"
)
UPLOAD_PROJECT_FILES = _mutation(
    "UploadFilesToProject",
    "($projectId: UUID!, $files: [UUID!]!) { addFilesToProject(projectId: $projectId, files: $files) }",
)
