"""The docs say what the code does: generated contract tables current, every setting documented."""

from __future__ import annotations

import re
from typing import get_args

from tests.docs_tables import DOCS, TABLES, stale_files

from cway_contract.config_names import KNOWN_SETTINGS
from cway_contract.contract import ACCOUNT_STATE_MEANINGS, ERROR_MEANINGS, AccountState, ErrorCode


def test_every_code_and_state_has_its_meaning_and_nothing_else() -> None:
    assert set(ERROR_MEANINGS) == set(ErrorCode)
    assert set(ACCOUNT_STATE_MEANINGS) == set(get_args(AccountState))


def test_the_generated_tables_match_the_code() -> None:
    stale = stale_files()
    assert not stale, f"run `python -m tests.docs_tables`: out of date in {[p.name for p in stale]}"


def test_each_generated_table_is_shown_somewhere() -> None:
    text = "".join(path.read_text() for path in DOCS.glob("*.md"))
    for name in TABLES:
        assert f"<!-- generated: {name} -->" in text, name


def test_configuration_md_documents_every_setting_the_loader_knows_and_no_other() -> None:
    text = (DOCS / "configuration.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", text, re.M))
    assert KNOWN_SETTINGS - documented == set(), "settings without a row in docs/configuration.md"
    assert documented - KNOWN_SETTINGS - {"CWAY_MCP_CONFIG"} == set(), "rows for settings the loader does not know"
