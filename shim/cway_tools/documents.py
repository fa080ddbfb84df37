"""Every GraphQL document the product sends, each named once and read from its ``.graphql`` file.

Why one module: the earlier public Cway MCP server sent operations that do not exist in Cway's
schema (``searchArtworks``, ``projectMembers``, ``loginInfo { email }`` ...) and nobody noticed
until users did. Each constant here loads one file explicitly (:func:`~cway_tools.document_registry.operation`),
so one test validates all of them against the real schema (``cway_contract/data/schema.graphql``),
another checks that every file is loaded by exactly one constant, and another that the tools use
nothing that is not in :data:`ALL_DOCUMENTS`. How to add an operation: write
``graphql/<area>/<OperationName>.graphql`` (fragments in ``graphql/fragments/``) and one line here.

Selections are deliberately compact: what an approver, project manager or supplier needs to
decide or answer, not everything the type offers (the ``graphql_query`` tool covers the rest).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from cway_tools.document_registry import Document, operation

# --- projects, artworks, approvals, AI, downloads, sign-in ------------------------------------------

LOGIN_INFO = operation("core/LoginInfo")
CURRENT_USER = operation("core/CurrentUser")
ORGANISATIONS = operation("core/Organisations")
STATISTICS = operation("core/Statistics")
OPEN_PROJECTS_BY_MONTH = operation("core/OpenProjectsCountByMonth")
SYSTEM_STATUS = operation("core/SystemStatus")
PROJECTS = operation("core/Projects")
PROJECT = operation("core/Project")
PROJECT_TEAM = operation("core/ProjectTeam")
PROJECT_HISTORY = operation("core/ProjectHistory")
PROJECT_AI_SUMMARY = operation("core/ProjectAISummary")
PROJECT_HISTORY_SUMMARY = operation("core/ProjectHistorySummary")
PLANNER_PROJECTS = operation("core/PlannerProjects")
CREATE_PROJECT = operation("core/CreateProject")
CLOSE_PROJECTS = operation("core/CloseProjects")
REOPEN_PROJECTS = operation("core/ReopenProjects")
PROJECT_STATE = operation("core/ProjectState")
ARTWORK = operation("core/Artwork")
ARTWORK_STATE = operation("core/ArtworkState")
ARTWORKS_TO_APPROVE = operation("core/ArtworksToApprove")
ARTWORKS_TO_UPLOAD = operation("core/ArtworksToUpload")
ARTWORK_HISTORY = operation("core/ArtworkHistory")
ARTWORK_AI_ANALYSIS = operation("core/ArtworkAIAnalysis")
AI_QUERY_RESULT = operation("core/AIQueryResult")
APPROVE_ARTWORK = operation("core/ApproveArtwork")
REJECT_ARTWORK = operation("core/RejectArtwork")
APPROVE_ARTWORKS = operation("core/ApproveArtworks")
REJECT_ARTWORKS = operation("core/RejectArtworks")
FIND_USERS_PAGE = operation("core/FindUsersPage")
GET_USER = operation("core/GetUser")
MEDIA_TREE = operation("core/MediaTree")
MEDIA_FOLDER = operation("core/MediaFolder")
ITEMS_FOR_FOLDER = operation("core/ItemsForFolder")
FILE = operation("core/File")
FIND_SHARES = operation("core/FindShares")
SHARE = operation("core/Share")
TEMP_FILE_DOWNLOAD_URL = operation("core/TempFileDownloadUrl")
CREATE_DOWNLOAD_JOB = operation("core/CreateDownloadJob")
ARTWORK_CHANGES = operation("core/ArtworkChanges")
PROJECT_CHANGES = operation("core/ProjectChanges")

# --- the catalogue: brands, markets, articles, categories, print specifications ---------------------

BRANDS = operation("catalogue/Brands")
MARKETS = operation("catalogue/Markets")
ARTICLE_CATEGORIES = operation("catalogue/ArticleCategories")
PRINT_SPECIFICATIONS = operation("catalogue/PrintSpecifications")
PRINT_SPECIFICATION = operation("catalogue/PrintSpecification")
ARTICLES = operation("catalogue/Articles")
ARTICLE = operation("catalogue/Article")
CREATE_BRAND = operation("catalogue/CreateBrand")
UPDATE_BRAND = operation("catalogue/UpdateBrand")
CREATE_MARKET = operation("catalogue/CreateMarket")
UPDATE_MARKET = operation("catalogue/UpdateMarket")
CREATE_ARTICLE = operation("catalogue/CreateArticle")
UPDATE_ARTICLES = operation("catalogue/UpdateArticles")
CREATE_ARTWORK_CATEGORY = operation("catalogue/CreateArtworkCategory")
RENAME_ARTWORK_CATEGORY = operation("catalogue/ChangeNameAndDescriptionOfCategory")
CREATE_PRINT_SPECIFICATION = operation("catalogue/CreatePrintSpecification")
UPDATE_PRINT_SPECIFICATION = operation("catalogue/UpdatePrintSpecification")

# --- the artwork and project lifecycle --------------------------------------------------------------

ARTWORK_LIFECYCLE = operation("lifecycle/ArtworkLifecycle")
ARTWORK_CORRECTIONS = operation("lifecycle/ArtworkCorrections")
PROJECT_ADMIN = operation("lifecycle/ProjectAdmin")
START_ARTWORKS = operation("lifecycle/StartArtworks")
CANCEL_ARTWORKS = operation("lifecycle/CancelArtworks")
DELIVER_ARTWORKS = operation("lifecycle/DeliverArtworks")
REVOKE_DELIVERY = operation("lifecycle/RevokeDeliveryOfArtworks")
REJECT_DELIVERED = operation("lifecycle/RejectAndChangeDeliveredArtworks")
CHANGE_ARTWORK_NAME = operation("lifecycle/ChangeArtworkName")
SET_ARTWORK_DATES = operation("lifecycle/SetDatesOnArtworks")
ASSIGN_APPROVER = operation("lifecycle/AssignApproverToArtwork")
ASSIGN_SUPPLIER = operation("lifecycle/AssignSupplierToArtwork")
ASSIGN_RECEIVER = operation("lifecycle/AssignReceiverToArtwork")
REMOVE_APPROVER = operation("lifecycle/RemoveApproverFromArtwork")
CHECKOUT_ARTWORK = operation("lifecycle/CheckoutArtwork")
CHECKIN_ARTWORK = operation("lifecycle/CheckinArtwork")
VALIDATE_CORRECTION = operation("lifecycle/ValidateCorrection")
INVALIDATE_CORRECTION = operation("lifecycle/InvalidateCorrection")
CHANGE_ARTWORK_CATEGORY = operation("lifecycle/ChangeCategoryOfArtworks")
DELETE_ARTWORKS = operation("lifecycle/DeleteArtworks")
LAUNCH_PROJECTS = operation("lifecycle/LaunchProjects")
DELIVER_PROJECT = operation("lifecycle/DeliverProject")
SET_PROJECT_DATES = operation("lifecycle/SetDatesOnProject")
CHANGE_BASIC_PROJECT_DATA = operation("lifecycle/ChangeBasicProjectData")
CHANGE_ORDERER = operation("lifecycle/ChangeOrderer")
ATTACH_PROJECT_FILES = operation("lifecycle/AttachFilesToProject")
DETACH_PROJECT_FILES = operation("lifecycle/DetachFilesFromProject")
DELETE_PROJECTS = operation("lifecycle/DeleteProjects")
EXPORT_PROJECT = operation("lifecycle/ExportProjectToFile")

# --- the media center: folders, items, shares, comments ---------------------------------------------

CREATE_FOLDER = operation("media/CreateFolder")
CREATE_ROOT_FOLDER = operation("media/CreateRootFolder")
RENAME_FOLDER = operation("media/RenameFolder")
MOVE_FOLDER = operation("media/MoveFolder")
COPY_FOLDER = operation("media/CopyFolder")
DELETE_FOLDER = operation("media/DeleteFolder")
MOVE_FOLDER_ITEMS = operation("media/MoveFolderItems")
COPY_FOLDER_ITEMS = operation("media/CopyFolderItems")
REMOVE_FOLDER_ITEM = operation("media/RemoveFolderItem")
USERS_FOR_FOLDER = operation("media/UsersForFolder")
ADD_USER_TO_FOLDER = operation("media/AddUserToFolder")
CHANGE_FOLDER_USER_PERMISSION = operation("media/ChangeFolderUserPermission")
REMOVE_USER_FROM_FOLDER = operation("media/RemoveUserFromFolder")
CREATE_SHARE = operation("media/CreateShare")
CREATE_ANONYMOUS_SHARE = operation("media/CreateAnonymousShare")
ANONYMOUS_SHARE = operation("media/AnonymousShare")
REMOVE_SHARES = operation("media/RemoveShares")
MARK_SHARE_AS_READ = operation("media/MarkShareAsRead")
MEDIA_CENTER_ARTWORK = operation("media/MediaCenterArtwork")
COMMENT_MEDIA_CENTER_ARTWORKS = operation("media/CommentMediaCenterArtworks")

# --- people: users, teams, permission groups --------------------------------------------------------

FIND_USERS_AND_TEAMS = operation("people/FindUsersAndTeamsPage")
TEAMS = operation("people/Teams")
CREATE_USERS_FROM_EMAILS = operation("people/CreateUsersFromEmailString")
CREATE_USER_TEAM = operation("people/CreateUserTeam")
ADD_USERS_TO_TEAM = operation("people/AddUsersToTeam")
REMOVE_USERS_FROM_TEAM = operation("people/RemoveUsersFromTeam")
PERMISSION_GROUPS = operation("people/PermissionGroups")
SET_PERMISSION_GROUP = operation("people/SetPermissionGroupForUsers")

# --- uploads: files in ------------------------------------------------------------------------------

TEMP_FILE_UPLOAD_URL = operation("uploads/TempFileUploadUrl")
NEW_REVISION_FROM_FILE = operation("uploads/NewRevisionFromFile")
CREATE_ARTWORKS_FROM_FILES = operation("uploads/CreateArtworksFromFiles")
ADD_ARTWORK_FILES = operation("uploads/AddArtworkFiles")
ADD_FILE_TO_FOLDER = operation("uploads/AddFileToFolder")
UPLOAD_PROJECT_FILES = operation("uploads/UploadFilesToProject")

# --- workflows: reminders, revocations, corrections, assignments ------------------------------------

ARTWORK_PEOPLE = operation("workflows/ArtworkPeople")
REMIND_APPROVER = operation("workflows/RemindApprover")
REVOKE_DECISIONS = operation("workflows/RevokeArtworkApprovalOrRejection")
ADD_CORRECTION = operation("workflows/AddCorrection")
ARTWORK_CATEGORIES = operation("workflows/ArtworkCategories")
CREATE_ARTWORK = operation("workflows/CreateArtwork")
ASSIGN_USERS = operation("workflows/AssignUsersToArtworks")
UPDATE_PROJECT_NOTES = operation("workflows/UpdateProjectNotes")
SET_PROJECT_MANAGER = operation("workflows/SetProjectManager")
PROJECT_NOTES = operation("workflows/ProjectNotes")
PROJECT_ARTWORK_PEOPLE = operation("workflows/ProjectArtworkPeople")
DOWNLOAD_EVENTS = operation("workflows/DownloadEvents")

#: Every document the product sends, by operation name (what the constants above hold).
ALL_DOCUMENTS: Mapping[str, Document] = MappingProxyType(
    {value.name: value for value in list(globals().values()) if isinstance(value, Document)}
)
