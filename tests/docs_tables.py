"""The docs' contract tables, generated from the code: the socket routes, error codes and account states.

Hand-kept copies drifted (a missing error code, three account states of seven). Each table sits in
the docs between ``<!-- generated: NAME -->`` and ``<!-- end generated -->``; ``python -m
tests.docs_tables`` rewrites them, and ``tests/common/test_docs_tables.py`` fails while any
differs from what the code says (or a settings table misses a setting the loader knows).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, cast, get_args

from cway_contract.config_docs import SETTING_DOCS
from cway_contract.config_names import SECRET_SETTINGS
from cway_contract.config_sources import SourceKind
from cway_contract.contract import ACCOUNT_STATE_MEANINGS, ERROR_MEANINGS, AccountState, ErrorCode

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BLOCK = re.compile(r"(<!-- generated: (?P<name>[a-z-]+) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.S)


def _request_fields(openapi: dict[str, Any], operation: dict[str, Any]) -> str:
    ref = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    name = ref.get("$ref", "").rpartition("/")[2]
    schema = openapi.get("components", {}).get("schemas", {}).get(name)
    if not schema:
        return ""
    required = set(schema.get("required", []))
    fields = [f + ("" if f in required else "?") for f in schema.get("properties", {})]
    return " `{" + ", ".join(fields) + "}`"


def routes() -> str:
    from cway_authd.control.api import create_control_app

    openapi = create_control_app(cast(Any, None), Path("/nonexistent/daemon.sock")).openapi()
    rows = ["| method and path | what |", "|---|---|"]
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            statuses = sorted(s for s in operation.get("responses", {}) if s != "200")
            rows.append(
                f"| `{method.upper()} {path}`{_request_fields(openapi, operation)} | {operation.get('summary', '')} "
                f"(errors: {', '.join(statuses)}) |"
            )
    return "\n".join(rows) + "\n"


def error_codes() -> str:
    rows = ["| code | meaning |", "|---|---|"]
    rows += [f"| `{code.value}` | {ERROR_MEANINGS[code]} |" for code in ErrorCode]
    return "\n".join(rows) + "\n"


def account_states() -> str:
    rows = ["| state | meaning |", "|---|---|"]
    rows += [f"| `{state}` | {ACCOUNT_STATE_MEANINGS[state]} |" for state in get_args(AccountState)]
    return "\n".join(rows) + "\n"


def settings() -> str:
    rows = ["| name | default | meaning |", "|---|---|---|"]
    for doc in SETTING_DOCS:
        secret = " Secret: never shown or echoed." if doc.name in SECRET_SETTINGS else ""
        rows.append(f"| `{doc.name}` | {doc.default} | {doc.meaning}{secret} |")
    return "\n".join(rows) + "\n"


def setting_sources() -> str:
    """The loader's own source names, strongest first (``read_layers`` stacks them weakest first)."""
    rows = ["| rank | source |", "|---|---|"]
    rows += [f"| {i} | {kind} |" for i, kind in enumerate(get_args(SourceKind), 1)]
    return "\n".join(rows) + "\n"


TABLES = {
    "settings": settings,
    "setting-sources": setting_sources,
    "socket-routes": routes,
    "error-codes": error_codes,
    "account-states": account_states,
}


def render(text: str) -> str:
    def fill(match: re.Match[str]) -> str:
        return match.group(1) + TABLES[match.group("name")]() + match.group(4)

    return BLOCK.sub(fill, text)


def stale_files() -> list[Path]:
    return [path for path in sorted(DOCS.glob("*.md")) if render(path.read_text()) != path.read_text()]


def main(argv: list[str]) -> int:
    for path in stale_files():
        path.write_text(render(path.read_text()))
        print(f"rewrote the generated tables in {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
