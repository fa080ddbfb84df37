"""``cway-auth doctor``: every precondition of a working sign-in, checked and explained.

Each check prints one ✓/✗ line, and every ✗ carries the fix, because the people running this
are usually setting the daemon up for the first time. Checks only *read*: doctor creates no
directory, no key and no socket (a missing state dir is fine, the daemon creates it 0700).
Nothing printed is secret: the key source is named, never shown.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import json
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

import httpx

from cway_authd.cli.doctor_check import Check
from cway_authd.cli.doctor_sign_in import sign_in_checks
from cway_contract import (
    MULTI_TENANT_AUTHORITIES,
    UNTRUSTED_SOCKET_ADVICE,
    ConfigError,
    DaemonClient,
    DaemonError,
    DaemonUnavailable,
    HealthResponse,
    Settings,
    UntrustedDaemonSocket,
    __version__,
    daemon_socket,
    default_config_file,
    format_rows,
    load_settings,
    setting_rows,
    unusable_path,
)

NETWORK_TIMEOUT = 5.0


def run_doctor(out: TextIO, env: Mapping[str, str] | None = None, *, as_json: bool = False) -> int:
    """Run every check, print the report (or one JSON document), return 0 if all passed and 1 otherwise."""
    checks, settings = collect(env)
    failed = sum(not check.ok for check in checks)
    if as_json:
        payload: dict[str, object] = {
            "ok": not failed,
            "checks": [dataclasses.asdict(check) for check in checks],
            "settings": {row.label: row.as_json() for row in setting_rows(settings)} if settings else None,
            "warnings": list(settings.warnings) if settings else [],
        }
        print(json.dumps(payload, indent=2), file=out, flush=True)
        return 1 if failed else 0
    if settings is not None:
        print("effective settings [where each came from]:", file=out)
        for line in format_rows(setting_rows(settings)):
            print(line, file=out)
        print(file=out)
    for check in checks:
        mark = "✗" if not check.ok else "!" if check.warn else "✓"
        print(f"{mark} {check.what}: {check.detail}", file=out)
        if (not check.ok or check.warn) and check.fix:
            print(f"    fix: {check.fix}", file=out)
    print(f"\n{failed} problem(s) found" if failed else "\nall checks passed", file=out, flush=True)
    return 1 if failed else 0


def collect_checks(env: Mapping[str, str] | None = None) -> list[Check]:
    return collect(env)[0]


def collect(env: Mapping[str, str] | None = None) -> tuple[list[Check], Settings | None]:
    checks: list[Check] = []
    try:
        settings = load_settings(env, component="daemon")
        checks.append(
            Check(
                True,
                "configuration",
                "loaded from " + ", ".join(settings.sources) + f"; config file: {config_file_path()}",
            )
        )
    except ConfigError as exc:
        checks.append(Check(False, "configuration", "the daemon cannot start with it", str(exc)))
        try:
            settings = load_settings(env, component="cli")
        except ConfigError:
            return checks, None
    for warning in settings.warnings:
        name = warning.split("=", 1)[0]
        checks.append(
            Check(
                False,
                "configuration override",
                warning.split("; ", 1)[0],
                f"unset {name} in the environment if it is meant for another tool, or set CWAY_{name}, "
                "which wins over both",
            )
        )
    checks.extend(_more_checks(settings))
    return checks, settings


def _more_checks(settings: Settings) -> list[Check]:
    checks: list[Check] = []
    if settings.auth_method == "static":
        checks.append(Check(True, "mode", "AUTH_METHOD=static: a fixed API token, no daemon needed"))
        checks.append(_check_cway(settings))
        return checks
    checks.append(_check_tenant(settings))
    checks.append(_check_private_dir("state directory", settings.state_dir))
    checks.append(_check_private_dir("socket directory", daemon_socket(settings).parent))
    health = _daemon_health(settings)
    checks.append(_check_daemon(settings, health))
    checks.append(_check_key_source(settings, health))
    checks.append(_check_store_format(settings))
    checks.append(_check_set_aside(settings))
    checks.extend(sign_in_checks(settings, health))
    checks.append(_check_discovery(settings))
    checks.append(_check_cway(settings))
    checks.append(_check_redirect_port(settings))
    return checks


def _check_tenant(settings: Settings) -> Check:
    """Without a tenant the default authority is Entra's multi-tenant "organizations" endpoint:
    anyone's work account can then start a sign-in, and ID tokens cannot be pinned to one issuer."""
    if settings.azure_tenant_id and settings.azure_tenant_id.lower() in MULTI_TENANT_AUTHORITIES:
        return Check(
            True,
            "tenant",
            f"{settings.azure_tenant_id} (multi-tenant; the app registration must be multi-tenant, else AADSTS50194); "
            f"authority {settings.azure_authority}",
        )
    if settings.azure_tenant_id:
        return Check(
            True,
            "tenant",
            f"{settings.azure_tenant_id} ({settings.origin('AZURE_TENANT_ID')}); authority {settings.azure_authority}",
        )
    if settings.origin("AZURE_AUTHORITY").source != "default":
        return Check(True, "tenant", f"not set; the authority is given explicitly: {settings.azure_authority}")
    return Check(
        False,
        "tenant",
        "AZURE_TENANT_ID is not set, so sign-in goes to the multi-tenant 'organizations' authority",
        f"set AZURE_TENANT_ID (or CWAY_AZURE_TENANT_ID) to your Entra tenant id in {config_file_path()}",
    )


def config_file_path() -> Path:
    """The TOML file the loader reads here (``CWAY_MCP_CONFIG``, else the platform's config dir)."""
    return Path(os.environ.get("CWAY_MCP_CONFIG") or default_config_file())


def _check_private_dir(what: str, path: Path) -> Check:
    from cway_authd.store import StorePermissionError, check_private_dir

    try:
        if not path.exists():
            return Check(True, what, f"{path} does not exist yet; the daemon creates it with mode 0700")
    except OSError as exc:  # e.g. EACCES: it sits under someone else's directory
        return Check(False, what, f"{path} cannot be used", unusable_path(path, exc))
    try:
        check_private_dir(path)
    except StorePermissionError as exc:
        return Check(False, what, f"{path} is not private", str(exc))
    return Check(True, what, f"{path} (owner only)")


def _daemon_health(settings: Settings) -> HealthResponse | str:
    async def ask() -> HealthResponse:
        async with DaemonClient(daemon_socket(settings), timeout=NETWORK_TIMEOUT) as client:
            return await client.health()

    try:
        return asyncio.run(ask())
    except UntrustedDaemonSocket as exc:
        return _Refused(exc)
    except (DaemonUnavailable, DaemonError) as exc:
        return str(exc)


class _Refused(str):
    """Why this client refused the daemon's socket: a daemon may be running, so "start it" is no advice."""


def _check_daemon(settings: Settings, health: HealthResponse | str) -> Check:
    if isinstance(health, str):
        return Check(
            False,
            "daemon",
            f"not reachable ({health})",
            UNTRUSTED_SOCKET_ADVICE
            if isinstance(health, _Refused)
            else "start it with `cway-auth daemon`, or at every login with `cway-auth service install`",
        )
    detail = (
        f"running, pid {health.pid}, version {health.version}, {health.accounts} account(s), "
        f"{health.accounts_needing_sign_in} needing sign-in"
    )
    if health.version != __version__:
        return Check(False, "daemon", detail, f"this cway-auth is {__version__}: restart the daemon after upgrading")
    return Check(True, "daemon", detail)


KEY_BESIDE_TOKENS_FIX = (
    "set CWAY_MCP_STORE_KEY from a secret manager, or use an OS keyring (e.g. Secret Service) and run "
    "`cway-auth rotate-key`"
)


def _check_key_source(settings: Settings, health: HealthResponse | str) -> Check:
    if isinstance(health, HealthResponse):
        detail = f"{health.key_source} (as reported by the running daemon)"
        if health.key_source.startswith("key-file:"):
            return _key_beside_tokens(detail)
        return Check(True, "store key", detail)
    if settings.store_key is not None:
        return Check(True, "store key", "from CWAY_MCP_STORE_KEY (environment or config file)")
    from cway_auth_core import KEY_DIR_NAME, KEY_FILE_NAME, keyring_backend_is_usable
    from cway_authd.store import StorePermissionError, check_private_file

    key_file = settings.state_dir / KEY_DIR_NAME / KEY_FILE_NAME
    try:
        import keyring

        backend = keyring.get_keyring()
        usable = keyring_backend_is_usable(backend)
    except Exception:  # a broken keyring install must not break doctor
        backend, usable = None, False
    try:
        key_file_exists = key_file.exists()
    except OSError:  # the state dir check above has already said why it cannot be used
        key_file_exists = False
    if usable and not key_file_exists:
        return Check(True, "store key", f"OS keyring ({type(backend).__name__})")
    if key_file_exists:
        try:
            check_private_file(key_file)
        except StorePermissionError as exc:
            return Check(False, "store key", f"key file {key_file} is not private", str(exc))
        return _key_beside_tokens(f"key file {key_file} (no secure OS keyring in use)")
    return Check(True, "store key", f"no secure OS keyring: the daemon will create the key file {key_file}")


def _key_beside_tokens(detail: str) -> Check:
    """The key file lies in the same state dir as the tokens it encrypts: a copy of that dir
    (a backup, a synced home) carries both, so the encryption protects little there."""
    return Check(
        True, "store key", f"{detail}; it lies beside the tokens it protects", KEY_BESIDE_TOKENS_FIX, warn=True
    )


def _check_store_format(settings: Settings) -> Check:
    """A store written by a newer release: the daemon refuses it (one line, nothing changed); say so here."""
    from cway_authd.store.format import STORE_FORMAT, store_refusal

    refusal = store_refusal(settings.state_dir)
    if refusal is not None:
        return Check(False, "token store format", refusal, "upgrade cway-mcp (pipx upgrade cway-mcp) and restart")
    return Check(True, "token store format", f"readable by this release (format {STORE_FORMAT})")


def _check_set_aside(settings: Settings) -> Check:
    """Token files the daemon moved out of the way (damaged, or not a private regular file): kept, never
    deleted, so they can be looked at and restored."""
    tokens = settings.state_dir / "tokens"
    try:
        aside = sorted(p.name for p in tokens.iterdir() if ".corrupt-" in p.name)
    except OSError:
        aside = []
    if not aside:
        return Check(True, "set-aside token files", "none")
    shown = ", ".join(aside[:5]) + (f" and {len(aside) - 5} more" if len(aside) > 5 else "")
    return Check(
        True,
        "set-aside token files",
        f"{len(aside)} in {tokens}: {shown}",
        "those accounts sign in again; a file set aside only for its mode can be restored with "
        "`chmod 600` and renaming it back to its <hash>.token name while the daemon is stopped",
        warn=True,
    )


def _check_discovery(settings: Settings) -> Check:
    url = settings.discovery_url
    fix = "check AZURE_TENANT_ID / AZURE_AUTHORITY and this machine's network or proxy"
    try:
        response = httpx.get(url, timeout=NETWORK_TIMEOUT, follow_redirects=False)
    except httpx.HTTPError as exc:
        return Check(False, "identity provider", f"{url} unreachable ({type(exc).__name__})", fix)
    try:
        ok = response.status_code == 200 and "authorization_endpoint" in response.json()
    except ValueError:
        ok = False
    if not ok:
        return Check(False, "identity provider", f"{url} answered HTTP {response.status_code}, not OIDC metadata", fix)
    return Check(True, "identity provider", f"OIDC discovery reachable at {url}")


def _check_cway(settings: Settings) -> Check:
    url = settings.cway_api_url
    try:
        response = httpx.post(url, json={"query": "{ __typename }"}, timeout=NETWORK_TIMEOUT)
    except httpx.HTTPError as exc:
        return Check(False, "Cway", f"{url} unreachable ({type(exc).__name__})", "check CWAY_API_URL and the network")
    if response.status_code >= 500:
        return Check(False, "Cway", f"{url} answered HTTP {response.status_code}", "Cway may be down; try again later")
    return Check(True, "Cway", f"{url} reachable (HTTP {response.status_code})")


def _check_redirect_port(settings: Settings) -> Check:
    redirect = settings.redirect
    host = "127.0.0.1" if redirect.host.lower() == "localhost" else redirect.host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, redirect.port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                return Check(False, "redirect port", f"cannot bind {host}:{redirect.port} ({exc.strerror})")
        else:
            return Check(True, "redirect port", f"{redirect.port} is free for {redirect.uri}")
    if _is_our_listener(host, redirect.port):
        return Check(True, "redirect port", f"{redirect.port} is served by the cway-auth daemon")
    return Check(
        False,
        "redirect port",
        f"port {redirect.port} (AZURE_REDIRECT_URI) is in use by another program",
        "stop that program, or choose another port in AZURE_REDIRECT_URI and register that URI in Entra ID",
    )


def _is_our_listener(host: str, port: int) -> bool:
    from cway_authd.web.callback_app import MARKER_HEADER

    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        response = httpx.get(
            f"http://{netloc}/", timeout=NETWORK_TIMEOUT, headers={"Host": f"localhost:{port}"}, trust_env=False
        )
    except httpx.HTTPError:
        return False
    return response.headers.get(MARKER_HEADER) == "1"
