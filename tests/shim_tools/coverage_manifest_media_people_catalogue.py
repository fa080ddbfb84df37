"""Schema coverage of the media center and shares, people and catalogue groups (issue 19).

``TOOLS_BY_OPERATION``: each Cway query or mutation (by the schema's own name) these groups reach,
and the tool that sends it. ``LEFT_TO_GENERIC_TOOL``: the groups' other operations, each with why
it has no tool of its own (rare, admin-only or covered by a broader tool); they stay reachable
through the generic mutation tool. The schema-coverage test merges both into its manifest;
``test_coverage_manifest_media_people_catalogue`` checks this module against the registry.
"""

from __future__ import annotations

TOOLS_BY_OPERATION: dict[str, str] = {
    # media center: reading (tools_media) and changing (tools_folders)
    "tree": "list_media_folders",
    "folder": "get_media_folder",
    "itemsForFolder": "find_media_items",
    "createFolder": "create_media_folder",
    "createRootFolder": "create_media_folder",
    "renameFolder": "rename_media_folder",
    "moveFolder": "move_media_folder",
    "copyFolder": "copy_media_folder",
    "deleteFolder": "delete_media_folder",
    "moveFolderItems": "move_media_items",
    "copyFolderItems": "copy_media_items",
    "removeFolderItem": "remove_media_items",
    "usersForFolder": "list_folder_users",
    "addUserToFolder": "set_folder_user",
    "changeFolderUserPermission": "set_folder_user",
    "removeUserFromFolder": "remove_folder_user",
    "mediaCenterArtwork": "get_media_artwork",
    "commentMediaCenterArtworks": "comment_media_artwork",
    # shares (reading: tools_media; changing: tools_shares)
    "findShares": "list_shares",
    "share": "get_share",
    "createShare": "share_media",
    "createAnonymousShare": "create_share_link",
    "anonymousShare": "create_share_link",
    "removeShares": "remove_shares",
    "markShareAsRead": "mark_share_read",
    # people (tools_people)
    "findUsersAndTeamsPage": "find_users_and_teams",
    "createUsersFromEmailString": "invite_users",
    "createUserTeam": "create_team",
    "addUsersToTeam": "add_team_members",
    "removeUsersFromTeam": "remove_team_members",
    "getPermissionGroups": "list_permission_groups",
    "setPermissionGroupForUsers": "set_permission_group",
    # catalogue (tools_catalogue)
    "brands": "list_catalogue",
    "markets": "list_catalogue",
    "articleCategories": "list_catalogue",
    "printSpecifications": "list_catalogue",
    "printSpecification": "get_print_specification",
    "articles": "find_articles",
    "article": "save_article",
    "createBrand": "save_brand_or_market",
    "updateBrand": "save_brand_or_market",
    "createMarket": "save_brand_or_market",
    "updateMarket": "save_brand_or_market",
    "createArticle": "save_article",
    "updateArticles": "save_article",
    "createArtworkCategory": "save_artwork_category",
    "changeNameAndDescriptionOfCategory": "save_artwork_category",
    "createPrintSpecification": "save_print_specification",
    "updatePrintSpecification": "save_print_specification",
}

_ADMIN_RARE = "an organisation admin's rare task; the generic mutation tool (confirmed) reaches it"

LEFT_TO_GENERIC_TOOL: dict[str, str] = {
    "markAllSharesAsRead": "one call per share (mark_share_read) keeps the change visible; rare in bulk",
    "changeFolderItemName": "renaming a file in place is rare; the web app shows the preview it needs",
    "obsoleteFolderItem": "obsolete flags are curation in the web app; find_media_items shows them",
    "unObsoleteFolderItem": "obsolete flags are curation in the web app; find_media_items shows them",
    "inValidateMediaCenterArtworkComment": "comment validation is the approval flow's, not the media center's",
    "validateMediaCenterArtworkComment": "comment validation is the approval flow's, not the media center's",
    "setUserTeamNameAndDescription": _ADMIN_RARE,
    "deleteUserTeam": _ADMIN_RARE,
    "deleteUserTeams": _ADMIN_RARE,
    "setUserAsTeamAdmin": "add_team_members(admin=true) sets it through addUsersToTeam",
    "changeUserTeamApprovalMode": _ADMIN_RARE,
    "createUser": "invite_users (createUsersFromEmailString) is how people are added",
    "deleteUsers": "removing people from the organisation is an admin decision made in the web app",
    "deleteArticles": _ADMIN_RARE,
    "setArticleCategories": "save_article sets categories through updateArticles",
    "setArticleMarket": "save_article sets the market through updateArticles",
    "setArticleBrand": "save_article sets the brand through updateArticles",
    "createArticleCategory": "save_article(category names) creates the path through createArticle",
    "renameArticleCategory": _ADMIN_RARE,
    "deleteArticleCategory": _ADMIN_RARE,
    "moveArticleCategory": _ADMIN_RARE,
    "setArtworkCategoryAsDefault": _ADMIN_RARE,
    "archiveArtworkCategories": _ADMIN_RARE,
    "unArchiveArtworkCategories": _ADMIN_RARE,
    "deletePrintSpecification": _ADMIN_RARE,
    "requestUpdateForPrintSpecification": "sends e-mail to a supplier: rare; the generic tool asks first",
}
