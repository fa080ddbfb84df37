"""Every default docs/configuration.md states as a value is the one the loaders use.

The settings table is rendered from ``config_docs.SETTING_DOCS``, whose defaults are words. Where a
default is one literal value (`` `30` ``), these tests hold it to the code by behaviour: setting the
documented value explicitly must load the same settings as leaving it unset; and setting another
value must not (so the case would see a loader that ignores the name, or a default that moved).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from cway_contract import contract
from cway_contract.config import load_settings
from cway_contract.config_docs import SETTING_DOCS, SettingDoc
from cway_contract.config_names import Component
from cway_remote.settings import load_remote_settings

TENANT = "contoso.example"
BASE = {"AZURE_CLIENT_ID": "client-123", "AZURE_TENANT_ID": TENANT, "CWAY_MCP_CONFIG": ""}
REMOTE_BASE = {
    **BASE,
    "CWAY_MCP_PUBLIC_URL": "https://mcp.example.com",
    "CWAY_MCP_DATABASE_URL": "postgresql://cway@db.example/cway",
    "CWAY_MCP_STORE_KEY": Fernet.generate_key().decode(),
}
#: Read by ``cway-mcp serve``'s own loader (cway_remote.settings), not by the shared one.
REMOTE_ONLY = {
    "CWAY_MCP_ACCESS_TOKEN_SECONDS",
    "CWAY_MCP_CONSENT_DAYS",
    "CWAY_MCP_TRUSTED_PROXIES",
    "CWAY_MCP_RATE_REGISTER",
    "CWAY_MCP_RATE_AUTHORIZE",
    "CWAY_MCP_RATE_CONSENT",
    "CWAY_MCP_RATE_TOKEN",
    "CWAY_MCP_RATE_TOKEN_IP",
    "CWAY_MCP_DRAIN_SECONDS",
    "CWAY_MCP_GRACEFUL_SECONDS",
}
#: Another valid value where "add one" or "flip" does not make one.
OTHER_VALUES = {
    "AUTH_METHOD": "static",
    "AUTH_FLOW": "direct",
    "CWAY_EXCHANGE_TOKEN": "access_token",
    "CWAY_MCP_LOG_LEVEL": "DEBUG",
    "CWAY_API_URL": "https://cway.example.com/graphql",
    "AZURE_REDIRECT_URI": "http://localhost:8766/callback",
    "AZURE_AUTHORITY": "https://idp.example.com/t/v2.0",
    "AZURE_SCOPES": "openid profile",
    "CWAY_MCP_STATE_DIR": "~/elsewhere",
}

#: Where a setting only matters beside another (the docs say so), the three loads share that one.
CONTEXT = {
    "CWAY_SILENT_REEXCHANGE": {"CWAY_EXCHANGE_TOKEN": "access_token"},  # "no effect with `code`"
    "AUTH_FLOW": {"AZURE_SCOPES": "openid api://cway.example/user_impersonation"},  # direct needs Cway's scope
}
#: Static mode runs no daemon (the daemon refuses it): the shim reads it.
SHIM_READS = {"AUTH_METHOD"}


def _literal(doc: SettingDoc) -> str | None:
    match = re.fullmatch(r"`([^`]+)`", doc.default)
    return match.group(1).replace("{AZURE_TENANT_ID}", TENANT) if match else None


def _other(name: str, value: str) -> str:
    if name in OTHER_VALUES:
        return OTHER_VALUES[name]
    if value in ("0", "1"):
        return "1" if value == "0" else "0"
    return str(int(value) + 1)


LITERAL_DOCS = [doc for doc in SETTING_DOCS if _literal(doc) is not None]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    home = Path(tempfile.mkdtemp(prefix="cwh-"))  # short: the default socket under it has 103 bytes at most
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setattr(contract, "RUN_USER_ROOT", tmp_path / "run-user")
    yield
    shutil.rmtree(home, ignore_errors=True)


def _load(name: str, env: dict[str, str], cwd: Path) -> Any:
    """What the component reading ``name`` makes of ``env``, less where each value came from."""
    if name in REMOTE_ONLY:
        remote = load_remote_settings({**REMOTE_BASE, **env}, cwd=cwd)
        return dataclasses.replace(remote, base=_without_sources(remote.base))
    extra = {"CWAY_API_TOKEN": "static-token"} if env.get("AUTH_METHOD") == "static" else {}
    component: Component = "shim" if name in SHIM_READS else "daemon"
    return _without_sources(load_settings({**BASE, **extra, **env}, component=component, cwd=cwd))


def _without_sources(settings: Any) -> Any:
    return dataclasses.replace(settings, sources=(), warnings=())


def test_the_literal_defaults_cover_both_loaders() -> None:
    names = {doc.name for doc in LITERAL_DOCS}
    assert {"CWAY_MCP_HTTP_TIMEOUT", "CWAY_MCP_AUTOSTART", "AUTH_METHOD"} <= names
    assert {"CWAY_MCP_RATE_TOKEN", "CWAY_MCP_DRAIN_SECONDS", "CWAY_MCP_CONSENT_DAYS"} <= names & REMOTE_ONLY


@pytest.mark.parametrize("doc", LITERAL_DOCS, ids=[doc.name for doc in LITERAL_DOCS])
def test_the_documented_default_is_what_an_unset_setting_loads(doc: SettingDoc, tmp_path: Path) -> None:
    value = _literal(doc)
    assert value is not None
    context = CONTEXT.get(doc.name, {})
    unset = _load(doc.name, context, tmp_path)
    documented = _load(doc.name, {**context, doc.name: value}, tmp_path)
    assert documented == unset, f"{doc.name}: the docs say {doc.default}"
    assert _load(doc.name, {**context, doc.name: _other(doc.name, value)}, tmp_path) != unset, f"{doc.name} unread"
