"""Schema coverage: how many of Cway's root operations the shim's documents reach, and the tool count.

An information row (no goal): issue 19 asks for the numbers before and after. "Before" is landed
main when the issue was filed (its 50 documents, measured with the same code on that commit).
"""

from __future__ import annotations

from tests.bench.common import Row

BEFORE = "50 documents: 26/65 queries, 15/190 mutations, 2/13 subscriptions (main at 1643f17)"


def bench_schema_coverage() -> list[Row]:
    from cway_tools.documents import ALL_DOCUMENTS
    from cway_tools.schema import get_schema
    from tests.helpers.schema_coverage import coverage

    kinds = coverage(get_schema(), [d.text for d in ALL_DOCUMENTS.values()])
    measured = f"{len(ALL_DOCUMENTS)} documents: " + ", ".join(str(k) for k in kinds)
    return [Row("schema coverage (root operations the documents send)", "report", measured, f"before: {BEFORE}")]
