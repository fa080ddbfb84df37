"""``whoami``, ``status``, ``token``, ``logout``, ``switch``, ``rotate-key``: what the daemon holds, never a secret.

Like ``gh auth status``, ``status`` exits 1 when an account needs a sign-in (or holds refreshed tokens
the disk would not take: ``unsaved``), and ``whoami``
never says "Signed in as" for such an account.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from cway_authd.cli.common import CommandFailed, Output, call
from cway_authd.daemon_exit import EXIT_FAILED, EXIT_OK
from cway_contract import (
    AccountInfo,
    DaemonClient,
    DaemonError,
    HealthResponse,
    Settings,
    fingerprint,
    format_duration,
    format_remaining,
    format_rows,
    format_time,
    read_default,
    setting_rows,
    write_default,
)

ROTATE_KEY_TIMEOUT = 300.0


def settings_json(settings: Settings) -> dict[str, Any]:
    return {
        "settings": {row.label: row.as_json() for row in setting_rows(settings)},
        "warnings": list(settings.warnings),
    }


def choose_account(settings: Settings, username: str | None) -> AccountInfo:
    """The named account, else the default (`switch`), else the only one."""
    if username:
        return call(settings, lambda c: c.account(username))
    accounts = call(settings, lambda c: c.accounts())
    if not accounts:
        raise CommandFailed("not signed in; run `cway-auth login`", code="not_signed_in")
    default = read_default(settings.state_dir)
    chosen = [a for a in accounts if default and a.username.lower() == default.lower()]
    if chosen:
        return chosen[0]
    if len(accounts) > 1:
        names = [a.username for a in accounts]
        raise CommandFailed(
            f"several accounts are signed in ({', '.join(names)}); name one, or set a default with "
            "`cway-auth switch <user>`",
            code="unknown_account",
            accounts=names,
        )
    return accounts[0]


def cmd_whoami(settings: Settings, args: argparse.Namespace, out: Output) -> int:
    account = choose_account(settings, args.username)
    code = EXIT_OK if account.state != "needs_sign_in" else EXIT_FAILED
    if out.as_json:
        out.document(account.model_dump(mode="json"))
        return code
    for line in describe_account(account, datetime.now(UTC)):
        out.line(line)
    return code


def describe_account(account: AccountInfo, now: datetime) -> list[str]:
    """The human view of one account: identity, organisation, expiries; never a token."""
    name = account.username + (f" ({account.display_name})" if account.display_name else "")
    needs = account.state == "needs_sign_in"
    lines = [f"{name}: sign-in needed" if needs else f"Signed in as {name}"]
    if account.email and account.email != account.username:
        lines.append(f"  email:          {account.email}")
    if account.organisation_name or account.organisation_id:
        org = account.organisation_name or ""
        lines.append(f"  organisation:   {org}" + (f" ({account.organisation_id})" if account.organisation_id else ""))
    lines.append(f"  state:          {account.state}")
    if not needs:
        lines.append(
            f"  access token:   expires {format_time(account.access_expires_at)} "
            f"({format_remaining(account.access_expires_at, now)})"
        )
        lines.append(_renewal_line(account, now))
    if account.last_refreshed_at:
        lines.append(f"  last refreshed: {format_time(account.last_refreshed_at)}")
    if account.next_refresh_at and not needs:
        lines.append(
            f"  next refresh:   {format_time(account.next_refresh_at)} ({next_refresh(account.next_refresh_at, now)})"
        )
    if account.last_error:
        lines.append(f"  last error:     {account.last_error}")
    if needs:
        lines.append(f"  → sign in again with `cway-auth login {account.username}`")
    return lines


def next_refresh(when: datetime | None, now: datetime) -> str:
    """``in 55m 3s``, ``now`` (due or running), or ``-`` (nothing planned: no usable tokens)."""
    if when is None:
        return "-"
    return format_remaining(when, now) if when > now else "now"


def cmd_status(settings: Settings, args: argparse.Namespace, out: Output) -> int:
    async def both(client: DaemonClient) -> tuple[HealthResponse, list[AccountInfo]]:
        return await client.health(), await client.accounts()

    health, accounts = call(settings, both)
    default = read_default(settings.state_dir)
    # Not OK while a user must act (a sign-in) or a refresh lives only in memory (the disk refused it).
    code = EXIT_FAILED if any(a.state in ("needs_sign_in", "unsaved") for a in accounts) else EXIT_OK
    if out.as_json:
        out.document(
            {
                "daemon": health.model_dump(mode="json"),
                "accounts": [a.model_dump(mode="json") for a in accounts],
                "default_account": default,
                **settings_json(settings),
            }
        )
        return code
    out.line(f"daemon {health.version}, pid {health.pid}, up {format_duration(health.uptime_seconds)}")
    out.line(f"  callback: {health.callback_url}")
    out.line(f"  store:    {health.storage_backend} (key: {health.key_source})")
    out.line(f"  sign-ins pending: {health.pending_sign_ins}")
    for problem in health.store_problems:
        out.line(f"  ! {problem}")
    out.line("settings:")
    for line in format_rows(setting_rows(settings)):
        out.line(line)
    for warning in settings.warnings:
        out.line(f"  ! {warning}")
    if not accounts:
        out.line("no accounts; sign in with `cway-auth login`")
        return code
    now = datetime.now(UTC)
    rows = [("ACCOUNT", "STATE", "ACCESS EXPIRES", "NEXT REFRESH", "SIGN-IN VALID")]
    for a in accounts:
        mark = " (default)" if default and a.username.lower() == default.lower() else ""
        state = "sign-in needed" if a.state == "needs_sign_in" else a.state
        rows.append(
            (
                a.username + mark,
                state,
                format_remaining(a.access_expires_at, now),
                next_refresh(a.next_refresh_at, now),
                format_remaining(a.refresh_expires_at, now),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.line("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    for a in accounts:
        if a.state == "needs_sign_in":
            out.line(f"→ {a.username} needs a sign-in: `cway-auth login {a.username}`")
        elif a.state == "unsaved":
            out.line(f"→ {a.username}: refreshed tokens are held in memory only ({a.last_error or 'the save failed'})")
    return code


def cmd_token(settings: Settings, args: argparse.Namespace, out: Output) -> int:
    username = args.username or read_default(settings.state_dir)
    bearer = call(settings, lambda c: c.bearer(username))
    token = bearer.access_token
    if args.reveal:
        print(
            f"cway-auth: warning: printing a live access token for {bearer.username}; anyone who sees it can act "
            f"as you in Cway until {format_time(bearer.expires_at)}",
            file=sys.stderr,
            flush=True,
        )
        print(token, flush=True)
        return EXIT_OK
    if out.as_json:
        out.document(
            {
                "username": bearer.username,
                "token_type": bearer.token_type,
                "fingerprint": fingerprint(token),
                "length": len(token),
                "expires_at": bearer.expires_at.isoformat(),
            }
        )
        return EXIT_OK
    out.line(
        f"{bearer.username}: {bearer.token_type} {fingerprint(token)} ({len(token)} chars), "
        f"expires {format_time(bearer.expires_at)} ({format_remaining(bearer.expires_at)})"
    )
    print("(use --reveal to print the token itself)", file=sys.stderr, flush=True)
    return EXIT_OK


def cmd_logout(settings: Settings, args: argparse.Namespace, out: Output) -> int:
    if args.all:
        if args.username:
            raise CommandFailed("give a username or --all, not both", code="usage")
        names = [a.username for a in call(settings, lambda c: c.accounts())]
    else:
        names = [choose_account(settings, args.username).username if not args.username else args.username]
    results = []
    for name in names:
        try:
            results.append(call(settings, lambda c, n=name: c.logout(n)))  # type: ignore[misc]
        except DaemonError as exc:
            if args.all:  # signed out meanwhile: nothing left to do for it
                continue
            raise CommandFailed(exc.body.message, code=exc.code.value, username=exc.body.username) from None
    default = read_default(settings.state_dir)
    if default and any(r.removed and r.username.lower() == default.lower() for r in results):
        write_default(settings.state_dir, None)
    ok = all(r.removed for r in results)
    if out.as_json:
        out.document({"results": [r.model_dump(mode="json") for r in results]})
    else:
        for r in results:
            out.line(r.message)
        if not results:
            out.line("no account was signed in")
    return EXIT_OK if ok else EXIT_FAILED


def cmd_switch(settings: Settings, args: argparse.Namespace, out: Output) -> int:
    if args.username is None:
        current = read_default(settings.state_dir)
        if out.as_json:
            out.document({"default_account": current})
        else:
            out.line(f"default account: {current}" if current else "no default account; `cway-auth switch <user>`")
        return EXIT_OK
    account = call(settings, lambda c: c.account(args.username))  # refuses an account that is not signed in
    write_default(settings.state_dir, account.username)
    if out.as_json:
        out.document({"default_account": account.username})
    else:
        out.line(f"Default account: {account.username} (used when a client or command names no account)")
    return EXIT_OK


def cmd_rotate_key(settings: Settings, args: argparse.Namespace, out: Output) -> int:
    # Through the daemon: it holds the store lock, and rotating must not race its refreshes. It waits for
    # each account's refresh in flight, so give it longer than one request (it finishes even if we go).
    timeout = max(settings.http_timeout_seconds, ROTATE_KEY_TIMEOUT)
    result = call(settings, lambda c: c.rotate_store_key(), timeout=timeout)
    if out.as_json:
        out.document(result.model_dump(mode="json"))
    else:
        out.line(result.message)
    return EXIT_OK


def _renewal_line(account: AccountInfo, now: datetime) -> str:
    """How long the session lasts without a browser: Entra's window with a re-exchange, else Cway's (if stated)."""
    if account.silent_reexchange and account.renewable_until:
        return (
            f"  renewable:      without a browser until {format_time(account.renewable_until)} "
            f"({format_remaining(account.renewable_until, now)}; Entra's limit if unused, sooner by policy)"
        )
    if account.refresh_expires_at:
        return (
            f"  sign-in valid:  until {format_time(account.refresh_expires_at)} "
            f"({format_remaining(account.refresh_expires_at, now)})"
        )
    return "  sign-in valid:  until Cway refuses its refresh token (Cway does not say when)"
