"""Every GraphQL document the shim sends to Cway, in one place.

Why one module: the earlier public Cway MCP server sent operations that do not exist in Cway's
schema (``searchArtworks``, ``projectMembers``, ``loginInfo { email }`` ...) and nobody noticed
until users did. Keeping every document here lets one test validate all of them against the
real schema (``cway_contract/data/schema.graphql``) and lets another check that the tools use
nothing that is not in :data:`ALL_DOCUMENTS`.

Selections are deliberately compact: what an approver, project manager or supplier needs to
decide or answer, not everything the type offers (the ``graphql_query`` tool covers the rest).
"""

from __future__ import annotations

from cway_tools.document_registry import ALL_DOCUMENTS, Document, DocumentKind, _mutation, _query, _subscription  # noqa: F401 - re-exported: tools import them from here

# --- fragments ------------------------------------------------------------------------------
# Each fragment string defines exactly one fragment; a document lists every fragment it
# spreads, directly or through another fragment (graphql-core rejects unknown *and* unused ones).

F_PROJECT_ROW = """
fragment ProjectRow on Project {
  id name state status orderNo refOrderNo startDate endDate lastActivity
  orderer { username name }
  projectManager { username name }
  progress { totalArtworks artworksDone artworksInProgress artworksUnstarted percentageDone }
}
"""

F_ARTWORK_ROW = """
fragment ArtworkRow on Artwork {
  id name state status projectId projectName startDate endDate latestActivity
  category { name }
  approvers { username name }
  suppliers { username name }
  isInApprovableState isInRejectableState
}
"""

F_EVENT_PROJECT = """
fragment ProjectEventRow on ProjectEvent { id timestamp name description }
"""

F_EVENT_ARTWORK = """
fragment ArtworkEventRow on ArtworkEvent { id timestamp name description }
"""

F_FOLDER_ROW = """
fragment FolderRow on Folder { id parentId name shared }
"""

F_FILE_ROW = """
fragment FileRow on File { id name size contentType created }
"""

F_SHARE_ROW = """
fragment ShareRow on Share {
  id name size created validToDate sharedTo sharedFrom partialDownloadAllowed read
}
"""

F_USER_ROW = """
fragment UserRow on User { id username name email enabled }
"""

# --- identity & organisations ---------------------------------------------------------------

LOGIN_INFO = _query(
    "LoginInfo",
    """
{
  loginInfo {
    user { id username name email }
    currentOrganisation { id name }
    organisationMemberships { organisationId name }
    impersonatedBy
    permissions {
      canCreateProject canSeeOtherProjects canSearchUsers canCreateShare
      canSeeProjectHistory canUseProjectManager isSystemAdmin
    }
  }
}""",
)

#: Just enough identity to fill ``RejectArtworkInput.username`` and ``CreateProjectInput.ordererId``.
CURRENT_USER = _query("CurrentUser", "{ loginInfo { user { id username } } }")

#: Every organisation in Cway: system admins only (others get "Access denied"), so
#: ``list_organisations`` uses loginInfo's memberships; kept for admin-facing tools.
ORGANISATIONS = _query("Organisations", "{ organisations { id name description active numberOfUsers } }")

STATISTICS = _query(
    "Statistics",
    """
{
  statistics {
    approvalStats { approvedArtworks averageApprovalTime averageRevisions }
    fileStorage
    mediaCenter { totalItems artworks }
  }
}""",
)

OPEN_PROJECTS_BY_MONTH = _query("OpenProjectsCountByMonth", "{ openProjectsCountByMonth { month count } }")

#: Renderer health and client versions: system admins only (``get_system_status``).
SYSTEM_STATUS = _query(
    "SystemStatus",
    "{ status { getViewerVersion getDesktopVersion rendererStatus { hostname active lastSeen } } }",
)

# --- projects -------------------------------------------------------------------------------

PROJECTS = _query(
    "Projects",
    """
($filter: ProjectFilter, $paging: Paging) {
  projects(filter: $filter, paging: $paging) {
    page totalHits
    projects { ...ProjectRow }
  }
}""",
    F_PROJECT_ROW,
)

PROJECT = _query(
    "Project",
    """
($id: UUID!) {
  project(id: $id) {
    ...ProjectRow
    description notes created
    isInClosableState
    artworks { ...ArtworkRow }
  }
}""",
    F_PROJECT_ROW,
    F_ARTWORK_ROW,
)

PROJECT_TEAM = _query(
    "ProjectTeam",
    """
($id: UUID!) {
  project(id: $id) {
    id name
    orderer { username name email }
    projectManager { username name email }
    artworks {
      id name state
      approvers { username name }
      suppliers { username name }
      receivers { username name }
    }
  }
}""",
)

PROJECT_HISTORY = _query(
    "ProjectHistory",
    "($projectId: UUID!) { projectHistory(projectId: $projectId) { ...ProjectEventRow } }",
    F_EVENT_PROJECT,
)

PROJECT_AI_SUMMARY = _query(
    "ProjectAISummary",
    "($projectId: UUID!, $audience: ProjectSummaryAudience!) "
    "{ openAIProjectSummary(projectId: $projectId, audience: $audience) }",
)

#: Cway answers ``projectHistorySummary`` and ``artworkAIAnalysis`` with a *thread id*; the text
#: arrives later over the ``aiQueryResult`` subscription (:data:`AI_QUERY_RESULT`).
PROJECT_HISTORY_SUMMARY = _query(
    "ProjectHistorySummary",
    "($projectId: UUID!) { projectHistorySummary(projectId: $projectId) }",
)

PLANNER_PROJECTS = _query(
    "PlannerProjects",
    """
{
  plannerProjects {
    id name state percentageDone startDate endDate
    artworks { id name state category startDate endDate }
  }
}""",
)

CREATE_PROJECT = _mutation("CreateProject", "($input: CreateProjectInput!) { createProject(input: $input) }")

CLOSE_PROJECTS = _mutation(
    "CloseProjects",
    "($projectIds: [UUID!]!, $force: Boolean) { closeProjects(projectIds: $projectIds, force: $force) }",
)

REOPEN_PROJECTS = _mutation(
    "ReopenProjects",
    "($projectIds: [UUID!]!) { reopenProjects(projectIds: $projectIds) }",
)

#: Read back after close/reopen so the tool reports the state Cway actually has.
PROJECT_STATE = _query("ProjectState", "($id: UUID!) { project(id: $id) { id name state } }")

# --- artworks -------------------------------------------------------------------------------

ARTWORK = _query(
    "Artwork",
    """
($id: UUID!) {
  artwork(id: $id) {
    ...ArtworkRow
    description approvalDate deliveryDate
    orderer { username name }
    receivers { username name }
    currentRevision { id name revisionNo comment created createdBy { username name } }
    previewFile { ...FileRow }
    filesWithType { fileType file { ...FileRow } }
  }
}""",
    F_ARTWORK_ROW,
    F_FILE_ROW,
)

#: Read back after approve/reject: the state is the answer the user cares about.
ARTWORK_STATE = _query(
    "ArtworkState",
    "($id: UUID!) { artwork(id: $id) { id name projectId state isInApprovableState isInRejectableState } }",
)

ARTWORKS_TO_APPROVE = _query("ArtworksToApprove", "{ artworksToApprove { ...ArtworkRow } }", F_ARTWORK_ROW)

ARTWORKS_TO_UPLOAD = _query("ArtworksToUpload", "{ artworksToUpload { ...ArtworkRow } }", F_ARTWORK_ROW)

ARTWORK_HISTORY = _query(
    "ArtworkHistory",
    "($artworkId: UUID!) { artworkHistory(artworkId: $artworkId) { ...ArtworkEventRow } }",
    F_EVENT_ARTWORK,
)

ARTWORK_AI_ANALYSIS = _query("ArtworkAIAnalysis", "($artworkId: UUID!) { artworkAIAnalysis(artworkId: $artworkId) }")

# --- AI answers -----------------------------------------------------------------------------

#: The answer to an AI job started by ``ARTWORK_AI_ANALYSIS`` or ``PROJECT_HISTORY_SUMMARY``:
#: progress messages (``status`` null) and then one with ``status`` COMPLETED (``result``) or
#: FAILED (``error``). Sent over WebSocket, the only document that is not plain HTTP.
AI_QUERY_RESULT = _subscription(
    "AIQueryResult",
    "($threadId: String!) { aiQueryResult(threadId: $threadId) { threadId status result error } }",
)

APPROVE_ARTWORK = _mutation("ApproveArtwork", "($artworkId: UUID!) { approveArtwork(artworkId: $artworkId) }")

REJECT_ARTWORK = _mutation("RejectArtwork", "($input: RejectArtworkInput!) { rejectArtwork(input: $input) }")

APPROVE_ARTWORKS = _mutation(
    "ApproveArtworks",
    "($projectId: UUID!, $artworkIds: [UUID!]!) { approveArtworks(projectId: $projectId, artworkIds: $artworkIds) }",
)

#: Cway's bulk reject carries no comment; the tools reject one by one with ``REJECT_ARTWORK``
#: so the supplier learns why. Kept (and validated) for completeness.
REJECT_ARTWORKS = _mutation(
    "RejectArtworks",
    "($projectId: UUID!, $artworkIds: [UUID!]!) { rejectArtworks(projectId: $projectId, artworkIds: $artworkIds) }",
)

# --- users ----------------------------------------------------------------------------------

FIND_USERS_PAGE = _query(
    "FindUsersPage",
    """
($username: String, $paging: Paging) {
  findUsersPage(username: $username, paging: $paging) { page totalHits users { ...UserRow } }
}""",
    F_USER_ROW,
)

GET_USER = _query(
    "GetUser",
    """
($username: String) {
  getUser(username: $username) {
    ...UserRow
    firstName lastName
    workInformation { companyName jobTitle department }
  }
}""",
    F_USER_ROW,
)

# --- media center ---------------------------------------------------------------------------

MEDIA_TREE = _query(
    "MediaTree",
    "{ tree { ...FolderRow folders { ...FolderRow folders { ...FolderRow } } } }",
    F_FOLDER_ROW,
)

MEDIA_FOLDER = _query(
    "MediaFolder",
    """
($id: UUID!) {
  folder(id: $id) {
    ...FolderRow
    permissions { write manage share downloadDeliveryFiles }
    folders { ...FolderRow }
  }
}""",
    F_FOLDER_ROW,
)

ITEMS_FOR_FOLDER = _query(
    "ItemsForFolder",
    """
($input: FindFolderItemInput!, $sorting: FolderItemSort, $paging: Paging) {
  itemsForFolder(input: $input, sorting: $sorting, paging: $paging) {
    page totalHits
    items {
      __typename
      ... on FileFolderItem { id name obsolete created file { ...FileRow } }
      ... on ArtworkFolderItem { id name obsolete created artwork { id name projectName } }
    }
  }
}""",
    F_FILE_ROW,
)

FILE = _query("File", "($uuid: UUID!) { file(uuid: $uuid) { ...FileRow } }", F_FILE_ROW)

# --- shares & downloads ---------------------------------------------------------------------

FIND_SHARES = _query(
    "FindShares",
    """
($fileNameFilter: String, $sharedToUser: String, $sharedByUser: String, $includeRead: Boolean) {
  findShares(
    fileNameFilter: $fileNameFilter, sharedToUser: $sharedToUser,
    sharedByUser: $sharedByUser, includeRead: $includeRead
  ) { ...ShareRow }
}""",
    F_SHARE_ROW,
)

SHARE = _query("Share", "($id: UUID!) { share(id: $id) { ...ShareRow } }", F_SHARE_ROW)

TEMP_FILE_DOWNLOAD_URL = _query("TempFileDownloadUrl", "($fileId: UUID!) { tempFileDownloadUrl(fileId: $fileId) }")

CREATE_DOWNLOAD_JOB = _mutation(
    "CreateDownloadJob",
    """
($selections: [DownloadFileDescriptorInput!]!, $zipName: String, $forceZipFile: Boolean) {
  createDownloadJob(selections: $selections, zipName: $zipName, forceZipFile: $forceZipFile)
}""",
)


# The workflow documents live in their own module (same registry, same schema check); importing
# it here registers them and makes them reachable as ``documents.NAME`` like every other.
from cway_tools.documents_catalogue import *  # noqa: E402, F403
from cway_tools.documents_lifecycle import *  # noqa: E402, F403
from cway_tools.documents_media import *  # noqa: E402, F403
from cway_tools.documents_people import *  # noqa: E402, F403
from cway_tools.documents_uploads import *  # noqa: E402, F403
from cway_tools.documents_workflows import *  # noqa: E402, F403

# --- follows: the subscriptions behind cway://artworks/{id} and cway://projects/{id} --------------
# They only say *that* the object changed; a follower reads the resource again for what.

ARTWORK_CHANGES = _subscription("ArtworkChanges", "($id: UUID!) { artwork(id: $id) { id name state } }")

PROJECT_CHANGES = _subscription("ProjectChanges", "($id: UUID!) { project(id: $id) { id name state } }")
