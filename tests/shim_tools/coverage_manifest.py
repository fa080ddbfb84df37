"""The day-to-day Cway operations (issue 19) and what covers each: a tool, or a documented exclusion.

One place, read by ``test_schema_coverage.py``: every operation named here must be a root field of
Cway's schema, and must map to a registered tool that sends it (through a registered document) or
be excluded in ``cway_tools.exclusions`` *and* listed in docs/mcp.md with its reason.

The media centre, people and catalogue groups take their tools from
``coverage_manifest_media_people_catalogue``; what that module leaves to the generic mutation tool
(with its reason) is ``GENERIC``: reachable through ``run_graphql_mutation``, always asked first.
``PENDING`` (a tool still being built elsewhere) is allowed only in :data:`PENDING_OWNERS`, now none.
"""

from __future__ import annotations

from cway_tools.exclusions import EXCLUDED as EXCLUDED_OPERATIONS
from tests.shim_tools.coverage_manifest_media_people_catalogue import LEFT_TO_GENERIC_TOOL, TOOLS_BY_OPERATION

PENDING = "<pending>"
EXCLUDED = "<excluded>"
GENERIC = "<generic mutation tool>"

ARTWORK_LIFECYCLE: dict[str, str] = {
    "startArtworks": "start_artworks",
    "cancelArtworks": "cancel_artworks",
    "deliverArtworks": "deliver_artworks",
    "revokeDeliveryOfArtworks": "revoke_artwork_delivery",
    "rejectAndChangeDeliveredArtworks": "reject_delivered_artworks",
    "changeArtworkName": "rename_artwork",
    "setDatesOnArtworks": "set_artwork_dates",
    "assignApproverToArtwork": "assign_artwork_role",
    "removeApproverFromArtwork": "remove_artwork_approver",
    "assignSupplierToArtwork": "assign_artwork_role",
    "assignReceiverToArtwork": "assign_artwork_role",
    "checkoutArtwork": "checkout_artwork",
    "checkinArtwork": "checkin_artwork",
    "validateCorrection": "set_correction_validity",
    "invalidateCorrection": "set_correction_validity",
    "changeCategoryOfArtworks": "change_artwork_category",
    "deleteArtworks": "delete_artworks",
}

PROJECTS: dict[str, str] = {
    "launchProjects": "launch_projects",
    "deliverProject": "deliver_project",
    "setDatesOnProject": "set_project_dates",
    "changeBasicProjectData": "edit_project",
    "changeOrderer": "change_project_orderer",
    "addFilesToProject": "add_files_to_project",
    "removeFilesFromProject": "remove_files_from_project",
    "deleteProjects": "delete_projects",
    "exportProjectToFile": "export_project",
}

MEDIA_AND_SHARES: dict[str, str] = {
    "createFolder": PENDING,
    "renameFolder": PENDING,
    "moveFolder": PENDING,
    "copyFolder": PENDING,
    "moveFolderItems": PENDING,
    "copyFolderItems": PENDING,
    "removeFolderItem": PENDING,
    "createShare": PENDING,
    "removeShares": PENDING,
    "createAnonymousShare": PENDING,
    "markShareAsRead": PENDING,
    "commentMediaCenterArtworks": PENDING,
    "usersForFolder": PENDING,
    "addUserToFolder": PENDING,
}

PEOPLE: dict[str, str] = {
    "findUsersAndTeamsPage": PENDING,
    "createUsersFromEmailString": PENDING,
    "createUserTeam": PENDING,
    "addUsersToTeam": PENDING,
    "removeUsersFromTeam": PENDING,
    "getPermissionGroups": PENDING,
    "setPermissionGroupForUsers": PENDING,
}

CATALOGUE: dict[str, str] = {
    "brands": PENDING,
    "createBrand": PENDING,
    "updateBrand": PENDING,
    "markets": PENDING,
    "createMarket": PENDING,
    "updateMarket": PENDING,
    "articles": PENDING,
    "article": PENDING,
    "createArticle": PENDING,
    "updateArticles": PENDING,
    "articleCategories": PENDING,
    "createArticleCategory": PENDING,
    "renameArticleCategory": PENDING,
    "createArtworkCategory": PENDING,
    "changeNameAndDescriptionOfCategory": PENDING,
    "printSpecifications": PENDING,
    "printSpecification": PENDING,
    "createPrintSpecification": PENDING,
    "updatePrintSpecification": PENDING,
}


def _settled(group: dict[str, str]) -> dict[str, str]:
    """The other branch's answers in place of PENDING: its tool, or GENERIC where it left it to that tool."""
    return {
        operation: TOOLS_BY_OPERATION.get(operation, GENERIC if operation in LEFT_TO_GENERIC_TOOL else target)
        if target == PENDING
        else target
        for operation, target in group.items()
    }


MEDIA_AND_SHARES = _settled(MEDIA_AND_SHARES)
PEOPLE = _settled(PEOPLE)
CATALOGUE = _settled(CATALOGUE)

MANIFEST: dict[str, dict[str, str]] = {
    "artwork lifecycle": ARTWORK_LIFECYCLE,
    "projects": PROJECTS,
    "media centre and shares": MEDIA_AND_SHARES,
    "people": PEOPLE,
    "catalogue": CATALOGUE,
    "out of scope": dict.fromkeys(EXCLUDED_OPERATIONS, EXCLUDED),
}

#: Groups whose tools are built on another branch; only these may hold PENDING entries.
PENDING_OWNERS: dict[str, str] = {}
