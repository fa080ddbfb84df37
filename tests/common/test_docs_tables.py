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


def test_every_setting_the_loader_knows_has_its_documented_meaning_in_the_code() -> None:
    from cway_contract.config_docs import SETTING_DOCS

    names = {doc.name for doc in SETTING_DOCS}
    assert KNOWN_SETTINGS - names == set()
    assert names - KNOWN_SETTINGS == {"CWAY_MCP_CONFIG", "CWAY_TOKEN_<ORG>"}


def test_the_documented_defaults_are_the_loaders_constants() -> None:
    from cway_contract import config_names as n
    from cway_contract.config_docs import SETTING_DOCS

    defaults = {doc.name: doc.default for doc in SETTING_DOCS}
    assert defaults["CWAY_API_URL"] == f"`{n.DEFAULT_API_URL}`"
    assert defaults["AZURE_REDIRECT_URI"] == f"`{n.DEFAULT_REDIRECT_URI}`"
    assert defaults["AZURE_SCOPES"] == f"`{n.DEFAULT_SCOPES}`"
    assert defaults["CWAY_REFRESH_THRESHOLD_SECONDS"] == f"`{n.DEFAULT_THRESHOLD_SECONDS}`"
    assert defaults["CWAY_REFRESH_CONCURRENCY"] == f"`{n.DEFAULT_REFRESH_CONCURRENCY}`"
    assert defaults["CWAY_STOP_TIMEOUT_SECONDS"] == f"`{n.DEFAULT_STOP_TIMEOUT_SECONDS}`"
