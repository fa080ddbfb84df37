"""``cway-auth``: run the daemon, sign in and out, and see what it holds, without ever seeing a secret.

Every command except ``daemon``, ``service`` and ``doctor`` is a thin client of the daemon's Unix
socket (:class:`cway_common.daemon_client.DaemonClient`), so the CLI holds no token of its own. The
daemon machinery (uvicorn, FastAPI, the store) is imported only inside the commands that need it,
which keeps ``cway-auth whoami`` fast and lets the shim share this package's client code.

Output rules: no access token, refresh token, authorization code or PKCE verifier is ever printed,
except by ``token --reveal``, which exists for piping into ``curl`` and says so on stderr.
Exit codes: 0 done, 1 failed, 2 usage or configuration error, 3 daemon not reachable, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import webbrowser
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO, TypeVar

from cway_common import __version__
from cway_common.config import ConfigError, Settings, load_settings
from cway_common.contract import AccountInfo, SignInCompleteRequest, SignInStatus
from cway_common.daemon_client import DaemonClient, DaemonError, DaemonUnavailable
from cway_common.humanize import format_duration, format_remaining, format_time
from cway_common.redact import fingerprint

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_INTERRUPTED = 130
DEFAULT_LOGIN_TIMEOUT = 300.0
POLL_INTERVAL = 1.0
ROTATE_KEY_TIMEOUT = 300.0

T = TypeVar("T")


class CommandFailed(Exception):
    """A command could not do its job; the message is printed as one line."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cway-auth", description="Sign in to Cway once; the cway-mcp daemon keeps your session fresh."
    )
    parser.add_argument("--version", action="version", version=f"cway-auth {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sub.add_parser("daemon", help="run the token daemon in the foreground")

    login = sub.add_parser("login", help="sign in with your browser")
    login.add_argument("username", nargs="?", help="the account to sign in as (sent as a login hint)")
    login.add_argument("--no-browser", action="store_true", help="only print the sign-in URL")
    login.add_argument(
        "--timeout", type=float, default=DEFAULT_LOGIN_TIMEOUT, metavar="S", help="give up after S seconds"
    )

    complete = sub.add_parser("complete", help="finish a sign-in on a machine whose browser cannot reach the daemon")
    complete.add_argument("redirect_url", nargs="?", help="the address the browser ended on ('-' or none: read stdin)")
    complete.add_argument("--code", help="the authorization code (instead of the redirect URL)")
    complete.add_argument("--state", help="the state value that came with the code")

    logout = sub.add_parser("logout", help="sign out and forget an account's tokens")
    logout.add_argument("username", nargs="?")

    whoami = sub.add_parser("whoami", help="who you are signed in as, and for how long")
    whoami.add_argument("username", nargs="?")
    whoami.add_argument("--json", action="store_true", help="machine-readable output")

    status = sub.add_parser("status", help="daemon health and all accounts")
    status.add_argument("--json", action="store_true", help="machine-readable output")

    token = sub.add_parser("token", help="show which access token the daemon would use (fingerprint only)")
    token.add_argument("username", nargs="?")
    token.add_argument("--reveal", action="store_true", help="print the raw access token (for piping into curl)")

    sub.add_parser("rotate-key", help="re-encrypt the stored tokens under a new store key and retire the old key")

    service = sub.add_parser("service", help="run the daemon at login (systemd user unit / launchd agent)")
    service.add_argument("action", choices=("install", "uninstall", "status"))
    service.add_argument("--dry-run", "--print", dest="dry_run", action="store_true", help="print, change nothing")
    service.add_argument("--target", choices=("systemd", "launchd"), help="default: this platform's manager")

    sub.add_parser("doctor", help="check configuration, permissions, daemon and network")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # usage errors exit 2 with the usage line
    try:
        return _dispatch(args)
    except ConfigError as exc:
        _err(f"configuration error: {exc}")
        return EXIT_USAGE
    except DaemonUnavailable as exc:
        _err(f"{exc}\n  start the daemon with `cway-auth daemon` (or once for good: `cway-auth service install`)")
        return EXIT_UNAVAILABLE
    except DaemonError as exc:
        _err(exc.body.message)
        if exc.body.accounts:
            _err("  signed-in accounts: " + ", ".join(exc.body.accounts))
        if exc.body.sign_in_url or exc.code.value in ("not_signed_in", "sign_in_required"):
            _err("  sign in with `cway-auth login" + (f" {exc.body.username}`" if exc.body.username else "`"))
        return EXIT_FAILED
    except CommandFailed as exc:
        _err(str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        _err("interrupted")
        return EXIT_INTERRUPTED


def _dispatch(args: argparse.Namespace) -> int:
    command: str = args.command
    if command == "daemon":
        return _cmd_daemon()
    if command == "service":
        return _cmd_service(args)
    if command == "doctor":
        from .doctor import run_doctor

        return run_doctor(sys.stdout)
    settings = load_settings(component="cli")
    if settings.auth_method == "static":
        raise CommandFailed("AUTH_METHOD=static uses a fixed API token: there is no daemon session to manage")
    handlers: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
        "login": _cmd_login,
        "complete": _cmd_complete,
        "logout": _cmd_logout,
        "whoami": _cmd_whoami,
        "status": _cmd_status,
        "token": _cmd_token,
        "rotate-key": _cmd_rotate_key,
    }
    return handlers[command](settings, args)


def _out(text: str = "", *, file: TextIO | None = None) -> None:
    print(text, file=file or sys.stdout)


def _err(text: str) -> None:
    print(f"cway-auth: {text}", file=sys.stderr)


def _call(settings: Settings, fn: Callable[[DaemonClient], Awaitable[T]], *, timeout: float | None = None) -> T:
    async def run() -> T:
        async with DaemonClient(settings.socket_path, timeout=timeout or settings.http_timeout_seconds) as client:
            return await fn(client)

    return asyncio.run(run())


# ---- daemon / service ----------------------------------------------------------------------------


def _cmd_daemon() -> int:
    settings = load_settings(component="daemon")
    from .runner import configure_logging, run_daemon  # lazy: uvicorn, FastAPI and the store load only here

    configure_logging(settings.log_level)
    return asyncio.run(run_daemon(settings))


def _cmd_service(args: argparse.Namespace) -> int:
    from . import service

    try:
        target: service.Target = args.target or service.default_target()
        if args.action == "install":
            return service.install(target, dry_run=args.dry_run, out=sys.stdout, err=sys.stderr)
        if args.action == "uninstall":
            return service.uninstall(target, dry_run=args.dry_run, out=sys.stdout)
        return service.status(target, out=sys.stdout)
    except (service.ServiceError, OSError) as exc:
        raise CommandFailed(str(exc)) from None


# ---- sign-in -------------------------------------------------------------------------------------


def _cmd_login(settings: Settings, args: argparse.Namespace) -> int:
    flow = _call(settings, lambda c: c.start_sign_in(args.username))
    if flow.state != "pending" or not flow.authorization_url:
        return _report_sign_in(flow)
    _out("To sign in, open this address in a browser:")
    _out(f"  {flow.authorization_url}")
    if not args.no_browser and settings.open_browser and _can_open_browser():
        try:
            opened = webbrowser.open(flow.authorization_url)
        except webbrowser.Error:
            opened = False
        _out("A browser window should have opened." if opened else "Could not open a browser; use the address above.")
    _out(
        "If the browser runs on another machine, it ends on an address that does not load: "
        "copy it and run `cway-auth complete` here."
    )
    deadline = time.monotonic() + max(args.timeout, 1.0)
    _out("Waiting for the sign-in to finish…")
    while flow.state == "pending":
        if time.monotonic() >= deadline:
            raise CommandFailed(f"gave up waiting after {args.timeout:.0f}s; run `cway-auth login` again")
        time.sleep(POLL_INTERVAL)
        flow = _call(settings, _status_of(flow.flow_id))
    return _report_sign_in(flow)


def _status_of(flow_id: str) -> Callable[[DaemonClient], Awaitable[SignInStatus]]:
    return lambda client: client.sign_in_status(flow_id)


def _can_open_browser() -> bool:
    """A local browser exists on macOS, or on Linux with a display; not over plain SSH."""
    if sys.platform == "darwin":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("BROWSER"))


def _report_sign_in(flow: SignInStatus) -> int:
    if flow.state == "completed":
        _out(f"Signed in as {flow.username}")
        if flow.identity_mismatch:
            _out(
                f"Note: you asked for {flow.requested_username}, but the browser signed in as {flow.username}. "
                f"To use {flow.requested_username}, sign out of Microsoft in the browser and run "
                f"`cway-auth login {flow.requested_username}` again."
            )
        return EXIT_OK
    reason = flow.message or ("the sign-in expired" if flow.state == "expired" else "the sign-in failed")
    raise CommandFailed(f"sign-in {flow.state}: {reason}")


def _cmd_complete(settings: Settings, args: argparse.Namespace) -> int:
    if args.code or args.state:
        if not (args.code and args.state) or args.redirect_url:
            raise CommandFailed("give either the redirect URL, or both --code and --state")
        request = SignInCompleteRequest(code=args.code, state=args.state)
    else:
        url = args.redirect_url
        if url in (None, "-"):
            if sys.stdin.isatty():
                print("Paste the address the browser ended on, then press Enter:", file=sys.stderr)
            url = sys.stdin.readline().strip()
        if not url:
            raise CommandFailed("no redirect URL given")
        request = SignInCompleteRequest(redirect_url=url)
    return _report_sign_in(_call(settings, lambda c: c.complete_sign_in(request)))


def _cmd_logout(settings: Settings, args: argparse.Namespace) -> int:
    username = args.username or _only_account(settings).username
    result = _call(settings, lambda c: c.logout(username))
    _out(result.message)
    return EXIT_OK if result.removed else EXIT_FAILED


# ---- what the daemon holds -----------------------------------------------------------------------


def _only_account(settings: Settings) -> AccountInfo:
    accounts = _call(settings, lambda c: c.accounts())
    if not accounts:
        raise CommandFailed("not signed in; run `cway-auth login`")
    if len(accounts) > 1:
        names = ", ".join(a.username for a in accounts)
        raise CommandFailed(f"several accounts are signed in ({names}); name one")
    return accounts[0]


def _cmd_whoami(settings: Settings, args: argparse.Namespace) -> int:
    username = args.username
    account = _call(settings, lambda c: c.account(username)) if username else _only_account(settings)
    if args.json:
        _out(json.dumps(account.model_dump(mode="json"), indent=2))
        return EXIT_OK
    for line in describe_account(account, datetime.now(UTC)):
        _out(line)
    return EXIT_OK if account.state != "needs_sign_in" else EXIT_FAILED


def describe_account(account: AccountInfo, now: datetime) -> list[str]:
    """The human view of one account: identity, organisation, expiries; never a token."""
    name = account.username + (f" ({account.display_name})" if account.display_name else "")
    lines = [f"Signed in as {name}"]
    if account.email and account.email != account.username:
        lines.append(f"  email:          {account.email}")
    if account.organisation_name or account.organisation_id:
        org = account.organisation_name or ""
        lines.append(f"  organisation:   {org}" + (f" ({account.organisation_id})" if account.organisation_id else ""))
    lines.append(f"  state:          {account.state}")
    lines.append(
        f"  access token:   expires {format_time(account.access_expires_at)} "
        f"({format_remaining(account.access_expires_at, now)})"
    )
    lines.append(
        f"  sign-in valid:  until {format_time(account.refresh_expires_at)} "
        f"({format_remaining(account.refresh_expires_at, now)})"
    )
    if account.last_refreshed_at:
        lines.append(f"  last refreshed: {format_time(account.last_refreshed_at)}")
    if account.next_refresh_at:
        lines.append(
            f"  next refresh:   {format_time(account.next_refresh_at)} ({_next_refresh(account.next_refresh_at, now)})"
        )
    if account.last_error:
        lines.append(f"  last error:     {account.last_error}")
    if account.state == "needs_sign_in":
        lines.append(f"  → sign in again with `cway-auth login {account.username}`")
    return lines


def _next_refresh(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "-"
    return format_remaining(when, now) if when > now else "now"


def _cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    async def both(client: DaemonClient) -> tuple[Any, list[AccountInfo]]:
        return await client.health(), await client.accounts()

    health, accounts = _call(settings, both)
    if args.json:
        payload = {"daemon": health.model_dump(mode="json"), "accounts": [a.model_dump(mode="json") for a in accounts]}
        _out(json.dumps(payload, indent=2))
        return EXIT_OK
    _out(f"daemon {health.version}, pid {health.pid}, up {format_duration(health.uptime_seconds)}")
    _out(f"  socket:   {health.socket_path}")
    _out(f"  callback: {health.callback_url}")
    _out(f"  store:    {health.storage_backend} (key: {health.key_source})")
    _out(f"  sign-ins pending: {health.pending_sign_ins}")
    if not accounts:
        _out("no accounts; sign in with `cway-auth login`")
        return EXIT_OK
    now = datetime.now(UTC)
    rows = [("ACCOUNT", "STATE", "ACCESS EXPIRES", "NEXT REFRESH", "SIGN-IN VALID")]
    rows += [
        (
            a.username,
            a.state,
            format_remaining(a.access_expires_at, now),
            _next_refresh(a.next_refresh_at, now),
            format_remaining(a.refresh_expires_at, now),
        )
        for a in accounts
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        _out("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return EXIT_OK


def _cmd_token(settings: Settings, args: argparse.Namespace) -> int:
    username = args.username
    bearer = _call(settings, lambda c: c.bearer(username))
    token = bearer.access_token
    if args.reveal:
        print(
            f"cway-auth: warning: printing a live access token for {bearer.username}; anyone who sees it can act "
            f"as you in Cway until {format_time(bearer.expires_at)}",
            file=sys.stderr,
        )
        _out(token)
        return EXIT_OK
    _out(
        f"{bearer.username}: {bearer.token_type} {fingerprint(token)} ({len(token)} chars), "
        f"expires {format_time(bearer.expires_at)} ({format_remaining(bearer.expires_at)})"
    )
    _out("(use --reveal to print the token itself)", file=sys.stderr)
    return EXIT_OK


def _cmd_rotate_key(settings: Settings, args: argparse.Namespace) -> int:
    # Through the daemon: it holds the store lock, and rotating must not race its refreshes. It waits for
    # each account's refresh in flight, so give it longer than one request (it finishes even if we go).
    timeout = max(settings.http_timeout_seconds, ROTATE_KEY_TIMEOUT)
    result = _call(settings, lambda c: c.rotate_store_key(), timeout=timeout)
    _out(result.message)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
