"""The read-only guard behind ``graphql_query``: what it lets through and what it refuses, and why."""

from __future__ import annotations

import pytest
from graphql import get_introspection_query

from cway_tools.schema import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_DOCUMENT_CHARS,
    MAX_FIELDS,
    QueryRejected,
    check_read_only,
    get_schema,
)

VALID = """
query MyProjects($paging: Paging) {
  projects(filter: {onlyMine: true}, paging: $paging) { totalHits projects { id name state } }
}
"""


def rejected(text: str, operation_name: str | None = None, variables: dict[str, object] | None = None) -> str:
    with pytest.raises(QueryRejected) as info:
        check_read_only(text, operation_name, variables)
    return str(info.value)


def test_valid_query_passes() -> None:
    checked = check_read_only(VALID, None, {"paging": {"page": 0, "pageSize": 10}})
    assert checked.operation_name == "MyProjects"
    assert checked.depth == 3
    assert checked.fields == 6


def test_schema_is_built_once() -> None:
    assert get_schema() is get_schema()


def test_a_mutation_is_refused_by_the_read_only_query_tool() -> None:
    message = rejected('mutation { approveArtwork(artworkId: "0000000d-0000-4000-8000-000000000001") }')
    assert "read-only" in message and "mutation" in message


def test_a_subscription_is_refused_by_the_query_tool() -> None:
    assert "subscription" in rejected("subscription { ping }")


def test_mutation_refused_even_when_picked_by_name() -> None:
    text = "query A { status { getViewerVersion } } mutation B { reopenProjects(projectIds: []) }"
    assert "mutation" in rejected(text, "B")


def test_a_query_picked_next_to_a_mutation_is_refused() -> None:
    """The whole document is sent, so a mutation beside the picked query must not ride along."""
    text = "query A { status { getViewerVersion } } mutation B { reopenProjects(projectIds: []) }"
    assert "mutation" in rejected(text, "A")
    assert "subscription" in rejected("query A { tree { id } } subscription S { ping }", "A")


def test_multiple_operations_need_a_name() -> None:
    text = "query A { loginInfo { id } } query B { tree { id } }"
    assert "operation_name" in rejected(text)
    assert check_read_only(text, "B").operation_name == "B"
    assert "No operation named 'C'" in rejected(text, "C")


def test_invalid_field_refused_with_graphql_message() -> None:
    message = rejected("query { loginInfo { email } }")
    assert "Cannot query field 'email' on type 'LoginInfo'" in message


def test_unknown_root_field_refused() -> None:
    assert "searchArtworks" in rejected('query { searchArtworks(query: "poster") { id } }')


def test_a_syntax_error_is_refused_as_one() -> None:
    assert rejected("query { loginInfo { ").startswith("Syntax error")


def test_an_empty_query_is_refused() -> None:
    assert "empty" in rejected("   ")


def test_a_query_deeper_than_the_limit_is_refused() -> None:
    # project > artworks > currentRevision > createdBy > addedBy > addedBy > addedBy > addedBy > id = 9
    deep = (
        'query { project(id: "0000000c-0000-4000-8000-000000000001") { artworks { currentRevision '
        "{ createdBy { addedBy { addedBy { addedBy { addedBy { id } } } } } } } } }"
    )
    assert f"limit is {MAX_DEPTH}" in rejected(deep)
    # One level less is fine.
    ok = deep.replace("addedBy { id }", "id")
    assert check_read_only(ok).depth == MAX_DEPTH


def test_depth_counts_through_fragments() -> None:
    text = """
    query { project(id: "0000000c-0000-4000-8000-000000000001") { ...A } }
    fragment A on Project { artworks { currentRevision { createdBy { ...U } } } }
    fragment U on User { addedBy { addedBy { addedBy { addedBy { id } } } } }
    """
    assert f"limit is {MAX_DEPTH}" in rejected(text)


def test_a_document_longer_than_the_limit_is_refused() -> None:
    text = "query { loginInfo { id } }" + " " * MAX_DOCUMENT_CHARS
    assert f"limit is {MAX_DOCUMENT_CHARS}" in rejected(text)


def test_a_query_with_more_fields_than_the_limit_is_refused() -> None:
    # Many distinct (aliased) fields would hit the alias limit first; repeat a fragment instead.
    per_fragment = 12
    spreads = " ".join(f"a{i}: loginInfo {{ ...F }}" for i in range(MAX_FIELDS // per_fragment + 5))
    fragment = "fragment F on LoginInfo { id impersonatedBy shouldProvideName hubSpotToken " + (
        "user { id username name email firstName lastName enabled } }"
    )
    message = rejected(f"query {{ {spreads} }} {fragment}")
    assert f"more than {MAX_FIELDS} fields" in message or f"more than {MAX_ALIASES} aliases" in message


def test_fragment_bomb_is_bounded() -> None:
    """Fragments that spread each other exponentially are stopped by the field budget, quickly."""
    lines = ["fragment F0 on User { id }"]
    for i in range(1, 30):
        lines.append(f"fragment F{i} on User {{ ...F{i - 1} addedBy {{ ...F{i - 1} }} }}")
    text = "query { getUser { ...F29 } } " + " ".join(lines)
    message = rejected(text)
    assert "fields" in message or "levels deep" in message


def test_a_query_with_more_aliases_than_the_limit_is_refused() -> None:
    aliases = " ".join(f"a{i}: tree {{ id }}" for i in range(MAX_ALIASES + 1))
    assert f"more than {MAX_ALIASES} aliases" in rejected(f"query {{ {aliases} }}")


def test_side_effect_query_fields_refused() -> None:
    assert "side effects" in rejected('query { openAiImage(prompt: "a cat") }')
    upload = 'tempFileUploadUrl(fileId: "0000000f-0000-4000-8000-000000000001")'
    assert "side effects" in rejected(f"query {{ ...Q }} fragment Q on Query {{ {upload} }}")


def test_missing_or_wrongly_typed_variables_are_refused() -> None:
    text = "query P($id: UUID!) { project(id: $id) { id } }"
    assert "Bad variables" in rejected(text, None, {})
    assert "Bad variables" in rejected(VALID, None, {"paging": {"page": "first"}})


def test_small_introspection_allowed() -> None:
    checked = check_read_only('query { __type(name: "Project") { name fields { name type { name kind } } } }')
    assert checked.depth == 4


def test_full_introspection_refused_by_depth() -> None:
    """The standard introspection query nests TypeRef ofType deeper than the limit."""
    assert "levels deep" in rejected(get_introspection_query())


def test_a_cached_verdict_still_checks_each_calls_variables_and_refuses_afresh() -> None:
    from cway_tools.query_limits import QueryRejected
    from cway_tools.schema import check_read_only

    text = "query One($id: UUID!) { project(id: $id) { id name } }"
    good = check_read_only(text, None, {"id": "4f6e2b1a-9a51-4a4e-8c66-2a5f3cf0a001"})
    again = check_read_only(text, None, {"id": "4f6e2b1a-9a51-4a4e-8c66-2a5f3cf0a002"})
    assert good == again  # the same verdict for the same text
    for bad in ({}, {"id": None}):  # missing, and null for a non-null type
        try:
            check_read_only(text, None, bad)
        except QueryRejected as exc:
            assert "Bad variables" in str(exc)
        else:
            raise AssertionError(f"variables {bad} were accepted")
    errors = []
    for _ in range(2):
        try:
            check_read_only("mutation { x }")
        except QueryRejected as exc:
            errors.append(exc)
    assert len(errors) == 2 and errors[0] is not errors[1] and str(errors[0]) == str(errors[1])
