"""The GraphQL documents of an artwork's life (start to delivery) and of project administration.

Part of the one registry (:data:`cway_tools.documents.ALL_DOCUMENTS`): defined with the same
helpers, re-exported by ``documents`` (tools say ``D.START_ARTWORKS``), and validated against
Cway's real schema by the same test. Operation names are Cway's mutation names, capitalised,
except ``AttachFilesToProject``/``DetachFilesFromProject`` (the upload tools may send their own
``addFilesToProject`` document; one name, one document).
"""

from __future__ import annotations

from cway_tools.document_registry import _mutation, _query

# --- reads the lifecycle tools check before and after a change --------------------------------

#: One artwork with what its lifecycle depends on: state, dates, category and people.
ARTWORK_LIFECYCLE = _query(
    "ArtworkLifecycle",
    """
($id: UUID!) {
  artwork(id: $id) {
    id name projectId projectName state startDate endDate deliveryDate
    category { id name }
    approvers { username name }
    suppliers { username name }
    receivers { username name }
  }
}""",
)

#: The corrections (change requests) on an artwork's current revision, valid and invalidated.
ARTWORK_CORRECTIONS = _query(
    "ArtworkCorrections",
    """
($id: UUID!) {
  artwork(id: $id) {
    id name state
    currentRevision {
      id revisionNo
      corrections { id number text valid created commentedBy { username name } invalidatedBy { username name } }
    }
  }
}""",
)

#: A project with what the project-administration tools change: dates, data, orderer, files, artworks.
PROJECT_ADMIN = _query(
    "ProjectAdmin",
    """
($id: UUID!) {
  project(id: $id) {
    id name state orderNo description startDate endDate isInDeleteableState
    orderer { id username name }
    projectManager { username name }
    files { id name size contentType }
    artworks { id name state startDate endDate category { id name } }
  }
}""",
)

# --- artwork lifecycle ------------------------------------------------------------------------

START_ARTWORKS = _mutation(
    "StartArtworks",
    "($projectId: UUID!, $artworkIds: [UUID!]!) { startArtworks(projectId: $projectId, artworkIds: $artworkIds) }",
)

CANCEL_ARTWORKS = _mutation(
    "CancelArtworks",
    "($projectId: UUID!, $artworkIds: [UUID!]!) { cancelArtworks(projectId: $projectId, artworkIds: $artworkIds) }",
)

DELIVER_ARTWORKS = _mutation(
    "DeliverArtworks",
    "($projectId: UUID!, $artworkIds: [UUID!]!, $message: String) "
    "{ deliverArtworks(projectId: $projectId, artworkIds: $artworkIds, message: $message) }",
)

REVOKE_DELIVERY = _mutation(
    "RevokeDeliveryOfArtworks",
    "($projectId: UUID!, $artworkIds: [UUID!]!) "
    "{ revokeDeliveryOfArtworks(projectId: $projectId, artworkIds: $artworkIds) }",
)

REJECT_DELIVERED = _mutation(
    "RejectAndChangeDeliveredArtworks",
    "($projectId: UUID!, $artworkIds: [UUID!]!) "
    "{ rejectAndChangeDeliveredArtworks(projectId: $projectId, artworkIds: $artworkIds) }",
)

CHANGE_ARTWORK_NAME = _mutation(
    "ChangeArtworkName",
    "($projectId: UUID!, $artworkId: UUID!, $name: String!) "
    "{ changeArtworkName(projectId: $projectId, artworkId: $artworkId, name: $name) }",
)

#: Cway names the list argument ``artworkId`` (singular) although it takes several ids.
SET_ARTWORK_DATES = _mutation(
    "SetDatesOnArtworks",
    "($projectId: UUID!, $artworkIds: [UUID!]!, $startDate: Date, $endDate: Date) "
    "{ setDatesOnArtworks(projectId: $projectId, artworkId: $artworkIds, startDate: $startDate, endDate: $endDate) }",
)

ASSIGN_APPROVER = _mutation(
    "AssignApproverToArtwork", "($input: AssignUserToArtworkInput) { assignApproverToArtwork(input: $input) }"
)

ASSIGN_SUPPLIER = _mutation(
    "AssignSupplierToArtwork", "($input: AssignUserToArtworkInput) { assignSupplierToArtwork(input: $input) }"
)

ASSIGN_RECEIVER = _mutation(
    "AssignReceiverToArtwork", "($input: AssignUserToArtworkInput) { assignReceiverToArtwork(input: $input) }"
)

REMOVE_APPROVER = _mutation(
    "RemoveApproverFromArtwork", "($input: RemoveUserFromArtworkInput) { removeApproverFromArtwork(input: $input) }"
)

CHECKOUT_ARTWORK = _mutation("CheckoutArtwork", "($artworkId: UUID!) { checkoutArtwork(artworkId: $artworkId) }")

CHECKIN_ARTWORK = _mutation("CheckinArtwork", "($input: CheckinArtworkInput) { checkinArtwork(input: $input) }")

VALIDATE_CORRECTION = _mutation(
    "ValidateCorrection",
    "($artworkId: UUID!, $correctionId: UUID!) "
    "{ validateCorrection(artworkId: $artworkId, correctionId: $correctionId) }",
)

INVALIDATE_CORRECTION = _mutation(
    "InvalidateCorrection",
    "($artworkId: UUID!, $correctionId: UUID!) "
    "{ invalidateCorrection(artworkId: $artworkId, correctionId: $correctionId) }",
)

CHANGE_ARTWORK_CATEGORY = _mutation(
    "ChangeCategoryOfArtworks",
    "($projectId: UUID!, $artworkIds: [UUID!]!, $categoryId: UUID!) "
    "{ changeCategoryOfArtworks(projectId: $projectId, artworkIds: $artworkIds, categoryId: $categoryId) }",
)

DELETE_ARTWORKS = _mutation(
    "DeleteArtworks",
    "($projectId: UUID!, $artworkIds: [UUID!]!) { deleteArtworks(projectId: $projectId, artworkIds: $artworkIds) }",
)

# --- project administration -------------------------------------------------------------------

LAUNCH_PROJECTS = _mutation("LaunchProjects", "($projectIds: [UUID!]!) { launchProjects(projectIds: $projectIds) }")

DELIVER_PROJECT = _mutation("DeliverProject", "($projectId: UUID!) { deliverProject(projectId: $projectId) }")

SET_PROJECT_DATES = _mutation(
    "SetDatesOnProject",
    "($id: UUID!, $startDate: Date, $endDate: Date) { setDatesOnProject(id: $id, startDate: $startDate, endDate: $endDate) }",
)

CHANGE_BASIC_PROJECT_DATA = _mutation(
    "ChangeBasicProjectData", "($input: BasicProjectDataInput) { changeBasicProjectData(input: $input) }"
)

CHANGE_ORDERER = _mutation(
    "ChangeOrderer",
    "($projectId: UUID!, $ordererId: UUID!) { changeOrderer(projectId: $projectId, ordererId: $ordererId) }",
)

ATTACH_PROJECT_FILES = _mutation(
    "AttachFilesToProject",
    "($projectId: UUID!, $files: [UUID!]!) { addFilesToProject(projectId: $projectId, files: $files) }",
)

DETACH_PROJECT_FILES = _mutation(
    "DetachFilesFromProject",
    "($projectId: UUID!, $files: [UUID!]!) { removeFilesFromProject(projectId: $projectId, files: $files) }",
)

DELETE_PROJECTS = _mutation(
    "DeleteProjects",
    "($projectIds: [UUID!]!, $force: Boolean) { deleteProjects(projectIds: $projectIds, force: $force) }",
)

EXPORT_PROJECT = _mutation("ExportProjectToFile", "($projectId: UUID!) { exportProjectToFile(projectId: $projectId) }")
