"""The GraphQL documents of an organisation's people: users and teams, invitations, permission
groups. Part of the one registry, re-exported by ``documents``, validated like every document."""

from __future__ import annotations

from cway_tools.document_registry import _mutation, _query

FIND_USERS_AND_TEAMS = _query(
    "FindUsersAndTeamsPage",
    """
($search: String, $paging: Paging) {
  findUsersAndTeamsPage(search: $search, paging: $paging) {
    page totalHits
    usersOrTeams {
      __typename
      ... on User { id username name email enabled permissionGroupId }
      ... on UserTeam { id name description approvalMode users { admin user { id username } } }
    }
  }
}""",
)

#: The current organisation's teams with their members (read before changing members).
TEAMS = _query(
    "Teams",
    "{ organisation { id teams { id name description approvalMode users { admin user { id username } } } } }",
)

CREATE_USERS_FROM_EMAILS = _mutation(
    "CreateUsersFromEmailString", "($emails: [String!]!) { createUsersFromEmailString(emails: $emails) }"
)
CREATE_USER_TEAM = _mutation(
    "CreateUserTeam",
    "($teamId: UUID, $name: String!, $description: String!, $approvalMode: ApprovalMode) "
    "{ createUserTeam(teamId: $teamId, name: $name, description: $description, approvalMode: $approvalMode) }",
)
ADD_USERS_TO_TEAM = _mutation(
    "AddUsersToTeam", "($teamId: UUID!, $users: [TeamUserInput!]!) { addUsersToTeam(teamId: $teamId, users: $users) }"
)
REMOVE_USERS_FROM_TEAM = _mutation(
    "RemoveUsersFromTeam",
    "($teamId: UUID!, $userIds: [UUID!]!) { removeUsersFromTeam(teamId: $teamId, userIds: $userIds) }",
)
PERMISSION_GROUPS = _query("PermissionGroups", "{ getPermissionGroups { id name } }")
SET_PERMISSION_GROUP = _mutation(
    "SetPermissionGroupForUsers",
    "($usernames: [String!]!, $permissionGroupId: UUID!) "
    "{ setPermissionGroupForUsers(usernames: $usernames, permissionGroupId: $permissionGroupId) }",
)
