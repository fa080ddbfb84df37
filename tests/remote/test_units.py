"""Fast checks of ``cway-mcp serve``'s pieces that need no database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from cway_contract.config import ConfigError
from cway_remote.settings import load_remote_settings

PROBE = """
import json, sys
import cway_mcp_shim.__main__
cway_mcp_shim.__main__.skip_optional_uvicorn()  # what the cway-mcp entry point does first
import cway_mcp_shim.server
heavy = ("cway_remote", "asyncpg", "uvicorn", "fastapi", "apscheduler")
print(json.dumps(sorted(m for m in heavy if sys.modules.get(m) is not None)))
"""


def test_the_stdio_shim_does_not_import_the_remote_server() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    config = tmp_path / "config.toml"
    config.touch()
    env = {
        "CWAY_MCP_CONFIG": str(config),
        "AZURE_CLIENT_ID": "client",
        "AZURE_TENANT_ID": "contoso.example",
        "CWAY_MCP_PUBLIC_URL": "https://mcp.example.com",
        "CWAY_MCP_DATABASE_URL": "postgresql://cway:s3cret@db.internal/cway",
        "CWAY_MCP_STORE_KEY": Fernet.generate_key().decode(),
    }
    env.update(extra)
    return {k: v for k, v in env.items() if v}


def test_settings_derive_the_resource_and_the_web_redirect_uri(tmp_path: Path) -> None:
    settings = load_remote_settings(_env(tmp_path), cwd=tmp_path)
    assert settings.resource_url == "https://mcp.example.com/mcp"
    assert settings.base.redirect.uri == "https://mcp.example.com/oauth/callback"
    assert "s3cret" not in repr(settings)
    assert settings.consent_days == 90  # remembered consent, by default
    assert load_remote_settings(_env(tmp_path, CWAY_MCP_CONSENT_DAYS="0"), cwd=tmp_path).consent_days == 0


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("CWAY_MCP_PUBLIC_URL", "http://mcp.example.com", "https"),
        ("CWAY_MCP_PUBLIC_URL", "https://mcp.example.com/base", "origin only"),
        ("CWAY_MCP_DATABASE_URL", "mysql://x@y/z", "postgresql"),
        ("CWAY_MCP_STORE_KEY", "", "same on every replica"),
        ("CWAY_MCP_CONSENT_DAYS", "-1", "0 (always ask)"),
        ("CWAY_MCP_CONSENT_DAYS", "ninety", "whole number of days"),
    ],
)
def test_settings_refuse_what_cannot_work(tmp_path: Path, name: str, value: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_remote_settings(_env(tmp_path, **{name: value}), cwd=tmp_path)
    assert words in str(caught.value)


def test_a_database_password_is_never_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_remote_settings(_env(tmp_path, CWAY_MCP_DATABASE_URL="mysql://u:hunter2@h/d"), cwd=tmp_path)
    assert "hunter2" not in str(caught.value)


def _serve(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cway_mcp_shim", "serve", "--port", "9"],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )


def test_serve_exits_2_with_one_line_for_a_configuration_error(tmp_path: Path) -> None:
    done = _serve(_env(tmp_path, CWAY_MCP_PUBLIC_URL=""), tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "CWAY_MCP_PUBLIC_URL" in done.stderr


def test_serve_exits_3_when_the_database_cannot_be_reached(tmp_path: Path) -> None:
    env = _env(tmp_path, CWAY_MCP_DATABASE_URL="postgresql://cway:s3cret@127.0.0.1:9/cway")
    env["CWAY_MCP_STATE_DIR"] = str(tmp_path / "state")
    done = _serve(env, tmp_path)
    assert done.returncode == 3, done.stderr
    assert "cannot use the database" in done.stderr and "s3cret" not in done.stderr


async def test_a_metadata_document_must_name_itself_and_be_a_public_client() -> None:
    import httpx

    from cway_remote.cimd import CimdError, fetch_client, is_metadata_url

    url = "https://127.0.0.1:8443/client.json"
    documents = {
        "self": {"client_id": url, "redirect_uris": ["http://127.0.0.1:3000/cb"]},
        "other": {"client_id": "https://elsewhere.example/client.json", "redirect_uris": ["http://127.0.0.1:3000/cb"]},
        "secret": {
            "client_id": url,
            "redirect_uris": ["http://x/cb"],
            "token_endpoint_auth_method": "client_secret_post",
        },
    }
    for name, document in documents.items():
        transport = httpx.MockTransport(lambda _, d=document: httpx.Response(200, json=d))
        async with httpx.AsyncClient(transport=transport) as http:
            if name == "self":
                info = await fetch_client(http, url, allow_private=True, scope="cway")
                assert (info.client_id, info.token_endpoint_auth_method, info.scope) == (url, "none", "cway")
                with pytest.raises(CimdError, match="not a public address"):
                    await fetch_client(http, url, allow_private=False, scope="cway")  # SSRF fence
            else:
                with pytest.raises(CimdError):
                    await fetch_client(http, url, allow_private=True, scope="cway")
    assert not is_metadata_url("http://example.com/client.json") and not is_metadata_url("https://example.com/")
