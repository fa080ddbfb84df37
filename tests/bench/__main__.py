"""Run every row and print the table: what, goal, measured, floor, pass/miss.

``python -m tests.bench`` runs all rows; ``python -m tests.bench bearer coldstart`` runs some.
The exit status is 0 whatever the verdicts: this is a report, not a gate.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from tests.bench.bearer import bench_bearer, bench_herd
from tests.bench.coldstart import bench_cold_start
from tests.bench.common import Row
from tests.bench.coverage import bench_schema_coverage
from tests.bench.journal import bench_journal
from tests.bench.remote import bench_remote
from tests.bench.scale import bench_scale
from tests.bench.startup import bench_startup
from tests.bench.tokens import bench_tokens
from tests.bench.toolcall import bench_tool_call

ROWS: dict[str, Callable[[], list[Row]]] = {
    "bearer": bench_bearer,
    "toolcall": bench_tool_call,
    "startup": bench_startup,
    "coldstart": bench_cold_start,
    "herd": bench_herd,
    "remote": bench_remote,  # cway-mcp serve (h13's rows: tests/bench/remote.py)
    "coverage": bench_schema_coverage,  # issue 19: schema operations reached before/after
    "journal": bench_journal,  # the refresh journal's fdatasync (issue 22)
    "tokens": bench_tokens,  # issue 19: the default tools/list size in o200k_base tokens
    "scale": bench_scale,  # 100 000 users, two replicas (CWAY_BENCH_SCALE_USERS)
}


def print_row(row: Row) -> None:
    print(f"[{row.verdict or '-':>4}] {row.what}")
    print(f"       goal:     {row.goal}")
    print(f"       measured: {row.measured}")
    if row.floor:
        print(f"       floor:    {row.floor}")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    names = argv or list(ROWS)
    unknown = [n for n in names if n not in ROWS]
    if unknown:
        print(f"unknown row(s): {', '.join(unknown)}; choose from {', '.join(ROWS)}", file=sys.stderr)
        return 2
    for name in names:
        print(f"… {name}", file=sys.stderr, flush=True)
        for row in ROWS[name]():
            print_row(row)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
