"""How much of Cway's schema the shim's documents reach: root fields used per operation kind.

Shared by the schema coverage test and the ``coverage`` bench row. Totals count the schema's
non-deprecated root fields (as issue 19 does: 65 queries, 190 mutations, 13 subscriptions); "used"
counts the distinct root fields the registered documents select.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from graphql import FieldNode, GraphQLSchema, OperationDefinitionNode, parse

KINDS = ("query", "mutation", "subscription")


@dataclass(frozen=True)
class KindCoverage:
    kind: str
    used: frozenset[str]
    total: int

    def __str__(self) -> str:
        plural = "queries" if self.kind == "query" else f"{self.kind}s"
        return f"{len(self.used)}/{self.total} {plural}"


def root_fields(texts: Iterable[str]) -> dict[str, set[str]]:
    """Root fields selected by each kind of operation across ``texts`` (GraphQL documents)."""
    used: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for text in texts:
        for definition in parse(text).definitions:
            if isinstance(definition, OperationDefinitionNode):
                kind = definition.operation.value
                used[kind] |= {s.name.value for s in definition.selection_set.selections if isinstance(s, FieldNode)}
    return used


def coverage(schema: GraphQLSchema, texts: Iterable[str]) -> list[KindCoverage]:
    used = root_fields(texts)
    roots = {"query": schema.query_type, "mutation": schema.mutation_type, "subscription": schema.subscription_type}
    out = []
    for kind in KINDS:
        root = roots[kind]
        fields = root.fields if root is not None else {}
        total = sum(1 for f in fields.values() if not f.deprecation_reason)
        out.append(KindCoverage(kind, frozenset(used[kind]), total))
    return out
