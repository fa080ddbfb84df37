"""The limits of the free-form ``graphql_query`` tool, apart from graphql-core.

The tool's description quotes these numbers, so they are needed when the tools are registered;
the validation code (:mod:`cway_tools.schema`, graphql-core) is needed only when a query runs.
Keeping them apart keeps graphql-core out of the shim's start-up.
"""

from __future__ import annotations

#: Limits for ``graphql_query``; generous for real questions, far below what could hurt Cway.
MAX_DOCUMENT_CHARS = 20_000
MAX_TOKENS = 10_000
MAX_DEPTH = 8
MAX_FIELDS = 500
MAX_ALIASES = 50

#: Root ``Query`` fields that act rather than read (generate images, mint upload URLs, export,
#: ask for permissions). They are queries only by GraphQL type; ``graphql_query`` refuses them.
SIDE_EFFECT_QUERY_FIELDS = frozenset(
    {"openAiImage", "askForOneDrivePermission", "tempFileUploadUrl", "exportUserSearch", "assistantQuery"}
)


class QueryRejected(ValueError):
    """The document may not be sent by ``graphql_query``; the message says why and what to do."""
