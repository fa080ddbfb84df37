"""The GraphQL documents that change the media center: folders, their items and users, shares,
and comments on media-center artworks.

Part of the one registry (:data:`cway_tools.documents.ALL_DOCUMENTS`), re-exported by
``documents`` and validated against Cway's real schema by the same test as every other document.
"""

from __future__ import annotations

from cway_tools.document_registry import _mutation, _query

CREATE_FOLDER = _mutation("CreateFolder", "($input: AddFolderInput!) { createFolder(input: $input) }")
CREATE_ROOT_FOLDER = _mutation("CreateRootFolder", "($name: String!) { createRootFolder(name: $name) }")
RENAME_FOLDER = _mutation(
    "RenameFolder", "($folderId: UUID!, $name: String!) { renameFolder(folderId: $folderId, name: $name) }"
)
MOVE_FOLDER = _mutation(
    "MoveFolder",
    "($sourceFolderId: UUID!, $targetFolderId: UUID!, $child: Boolean, $before: Boolean) "
    "{ moveFolder(sourceFolderId: $sourceFolderId, targetFolderId: $targetFolderId, child: $child, before: $before) }",
)
COPY_FOLDER = _mutation(
    "CopyFolder",
    "($sourceFolderId: UUID!, $targetFolderId: UUID!) "
    "{ copyFolder(sourceFolderId: $sourceFolderId, targetFolderId: $targetFolderId) }",
)
DELETE_FOLDER = _mutation("DeleteFolder", "($folderId: UUID!) { deleteFolder(folderId: $folderId) }")
MOVE_FOLDER_ITEMS = _mutation(
    "MoveFolderItems",
    "($sourceFolderId: UUID!, $targetFolderId: UUID!, $folderItems: [UUID!]!) { moveFolderItems("
    "sourceFolderId: $sourceFolderId, targetFolderId: $targetFolderId, folderItems: $folderItems) }",
)
COPY_FOLDER_ITEMS = _mutation(
    "CopyFolderItems",
    "($sourceFolderId: UUID!, $targetFolderId: UUID!, $folderItems: [UUID!]!) { copyFolderItems("
    "sourceFolderId: $sourceFolderId, targetFolderId: $targetFolderId, folderItems: $folderItems) }",
)
REMOVE_FOLDER_ITEM = _mutation(
    "RemoveFolderItem",
    "($folderId: UUID!, $folderItemId: UUID!) { removeFolderItem(folderId: $folderId, folderItemId: $folderItemId) }",
)

USERS_FOR_FOLDER = _query(
    "UsersForFolder",
    "($folderId: UUID!) { usersForFolder(folderId: $folderId) "
    "{ userId username name permissions { write manage share downloadDeliveryFiles } } }",
)
ADD_USER_TO_FOLDER = _mutation(
    "AddUserToFolder",
    "($folderId: UUID!, $userId: UUID!, $permissions: FolderPermissionInput) "
    "{ addUserToFolder(folderId: $folderId, userId: $userId, permissions: $permissions) }",
)
CHANGE_FOLDER_USER_PERMISSION = _mutation(
    "ChangeFolderUserPermission",
    "($folderId: UUID!, $userId: UUID!, $permissions: FolderPermissionInput!) "
    "{ changeFolderUserPermission(folderId: $folderId, userId: $userId, permissions: $permissions) }",
)
REMOVE_USER_FROM_FOLDER = _mutation(
    "RemoveUserFromFolder",
    "($folderId: UUID!, $userId: UUID!) { removeUserFromFolder(folderId: $folderId, userId: $userId) }",
)

CREATE_SHARE = _mutation("CreateShare", "($input: CreateShareInput!) { createShare(input: $input) }")
CREATE_ANONYMOUS_SHARE = _mutation(
    "CreateAnonymousShare", "($input: CreateAnonymousShareInput!) { createAnonymousShare(input: $input) }"
)
ANONYMOUS_SHARE = _query(
    "AnonymousShare", "($id: UUID!) { anonymousShare(id: $id) { id name size created validToDate sharedFrom } }"
)
REMOVE_SHARES = _mutation("RemoveShares", "($shareIds: [UUID!]!) { removeShares(shareIds: $shareIds) }")
MARK_SHARE_AS_READ = _mutation("MarkShareAsRead", "($shareId: UUID!) { markShareAsRead(shareId: $shareId) }")

MEDIA_CENTER_ARTWORK = _query(
    "MediaCenterArtwork",
    """
($artworkId: UUID!) {
  mediaCenterArtwork(artworkId: $artworkId) {
    id name draft created projectName
    category { name }
    comments { id number text created valid commentedBy { username name } }
  }
}""",
)
COMMENT_MEDIA_CENTER_ARTWORKS = _mutation(
    "CommentMediaCenterArtworks",
    "($comments: [ArtworkCommentInput!]!) { commentMediaCenterArtworks(comments: $comments) }",
)
