"""The GraphQL documents of the approver's and project manager's workflows, and of downloads.

Part of the one registry (:data:`cway_tools.documents.ALL_DOCUMENTS`): defined with the same
helpers, re-exported by ``documents`` (tools say ``D.REMIND_APPROVER``), and validated against
Cway's real schema by the same test. A separate module only to keep each file readable.
"""

from __future__ import annotations

from cway_tools.document_registry import _mutation, _query, _subscription

# --- approvals ------------------------------------------------------------------------------

#: Who is on an artwork and where it stands: read before a reminder, a correction or a revocation.
ARTWORK_PEOPLE = _query(
    "ArtworkPeople",
    """
($id: UUID!) {
  artwork(id: $id) {
    id name projectId projectName state
    approvers { username name }
    suppliers { username name }
    receivers { username name }
  }
}""",
)

REMIND_APPROVER = _mutation("RemindApprover", "($input: RemindApproverInput!) { remindApprover(input: $input) }")

#: Marked deprecated in Cway's schema text, yet the only mutation that revokes a rejection as well
#: as an approval (``revokeArtworkApproval`` covers approvals only).
REVOKE_DECISIONS = _mutation(
    "RevokeArtworkApprovalOrRejection",
    "($projectId: UUID!, $artworkIds: [UUID!]!) "
    "{ revokeArtworkApprovalOrRejection(projectId: $projectId, artworkIds: $artworkIds) }",
)

ADD_CORRECTION = _mutation("AddCorrection", "($input: AddCorrectionInput!) { addCorrection(input: $input) }")

# --- project work ---------------------------------------------------------------------------

#: The current organisation's artwork categories (``createArtwork`` needs a category id).
ARTWORK_CATEGORIES = _query(
    "ArtworkCategories",
    "{ organisation { id name defaultCategory { id name } artworkCategories { id name description } } }",
)

CREATE_ARTWORK = _mutation("CreateArtwork", "($input: CreateArtworkInput!) { createArtwork(input: $input) }")

ASSIGN_USERS = _mutation(
    "AssignUsersToArtworks", "($input: UserAssignmentsInput!) { assignUsersToArtworks(input: $input) }"
)

UPDATE_PROJECT_NOTES = _mutation(
    "UpdateProjectNotes",
    "($projectId: UUID!, $notes: String!) { updateProjectNotes(projectId: $projectId, notes: $notes) }",
)

SET_PROJECT_MANAGER = _mutation(
    "SetProjectManager",
    "($projectId: UUID!, $projectManagerId: UUID!) "
    "{ setProjectManager(projectId: $projectId, projectManagerId: $projectManagerId) }",
)

#: Notes and manager, read before and after changing them.
PROJECT_NOTES = _query(
    "ProjectNotes",
    "($id: UUID!) { project(id: $id) { id name state notes projectManager { id username name } } }",
)

#: A project's artworks with their people, read after creating or assigning.
PROJECT_ARTWORK_PEOPLE = _query(
    "ProjectArtworkPeople",
    """
($id: UUID!) {
  project(id: $id) {
    id name state
    artworks {
      id name state
      category { name }
      approvers { username name }
      suppliers { username name }
      receivers { username name }
    }
  }
}""",
)

# --- downloads ------------------------------------------------------------------------------

#: Announces finished downloads: ``{username, fileId, shareId}``. The schema ties no event to a
#: job id, so the shim listens *before* creating a zip job and takes the first event for the
#: acting user that carries a file id (see ``downloads.py``).
DOWNLOAD_EVENTS = _subscription("DownloadEvents", "{ download { username fileId shareId } }")
