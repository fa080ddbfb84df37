"""``cway-auth``: run the daemon, sign in and out, and see what it holds, without ever seeing a secret.

Every command except ``daemon``, ``service``, ``doctor`` and ``client-config`` is a thin client of the
daemon's Unix socket (:class:`cway_contract.daemon_client.DaemonClient`), so the CLI holds no token of
its own. The daemon machinery (uvicorn, FastAPI, the store) is imported only inside the commands
that need it, which keeps ``cway-auth whoami`` fast and lets the shim share this package's client code.

Output rules: no access token, refresh token, authorization code or PKCE verifier is ever printed,
except by ``token --reveal``, which exists for piping into ``curl`` and says so on stderr. Every line
is flushed as written (see :mod:`cway_authd.cli.common`); ``--json`` shapes are in ``docs/cli.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from cway_authd.cli import accounts as cli_accounts
from cway_authd.cli import login as cli_login
from cway_authd.cli.common import EXIT_INTERRUPTED, EXIT_UNAVAILABLE, EXIT_USAGE, CommandFailed, Output
from cway_authd.daemon_exit import EXIT_OK
from cway_contract import (
    UNTRUSTED_SOCKET_ADVICE,
    ConfigError,
    DaemonError,
    DaemonUnavailable,
    Settings,
    UntrustedDaemonSocket,
    __version__,
    load_settings,
    unusable_path,
)

DEFAULT_LOGIN_TIMEOUT = 300.0

EPILOG = """exit codes:
  0    done
  1    failed; for status/whoami: an account needs a sign-in (status: or is unsaved)
  2    usage or configuration error
  3    the daemon is not reachable
  130  interrupted

--json prints one JSON document on stdout, errors included: {"error": {"code", "message", "exit_code"}}.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cway-auth",
        description="Sign in to Cway once; the cway-mcp daemon keeps your session fresh.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"cway-auth {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def with_json(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--json", action="store_true", help="one JSON document on stdout (errors too)")
        return p

    daemon = sub.add_parser("daemon", help="run the token daemon in the foreground")
    daemon.add_argument(
        "--log-file",
        type=Path,
        metavar="PATH",
        help="log to PATH (0600, rotated at 5 MB, 3 kept) instead of stderr; for starts without a journal",
    )

    login = with_json(sub.add_parser("login", help="sign in with your browser (starts the daemon if needed)"))
    login.add_argument("username", nargs="?", help="the account to sign in as (sent as a login hint)")
    login.add_argument("--no-browser", action="store_true", help="only print the sign-in URL")
    login.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_LOGIN_TIMEOUT,
        metavar="S",
        help="give up after S seconds (default: %(default).0f)",
    )

    complete = with_json(
        sub.add_parser("complete", help="finish a sign-in on a machine whose browser cannot reach the daemon")
    )
    complete.add_argument("redirect_url", nargs="?", help="the address the browser ended on ('-' or none: read stdin)")
    complete.add_argument("--code", help="the authorization code (instead of the redirect URL)")
    complete.add_argument("--state", help="the state value that came with the code")

    logout = with_json(sub.add_parser("logout", help="sign out and forget an account's tokens"))
    logout.add_argument("username", nargs="?")
    logout.add_argument("--all", action="store_true", help="sign out every account")

    whoami = with_json(sub.add_parser("whoami", help="who you are signed in as, and for how long"))
    whoami.add_argument("username", nargs="?")

    with_json(
        sub.add_parser("status", help="daemon, settings and all accounts (exit 1 if one needs a sign-in or is unsaved)")
    )

    switch = with_json(sub.add_parser("switch", help="set the default account (used when none is named)"))
    switch.add_argument("username", nargs="?", help="a signed-in account; omit to show the current default")

    token = with_json(sub.add_parser("token", help="show which access token the daemon would use (fingerprint)"))
    token.add_argument("username", nargs="?")
    token.add_argument("--reveal", action="store_true", help="print the raw access token (for piping into curl)")

    with_json(sub.add_parser("rotate-key", help="re-encrypt the stored tokens under a new store key"))

    service = sub.add_parser("service", help="run the daemon at login (systemd user units / launchd agent)")
    service.add_argument("action", choices=("install", "uninstall", "status"))
    service.add_argument("--dry-run", "--print", dest="dry_run", action="store_true", help="print, change nothing")
    service.add_argument("--target", choices=("systemd", "launchd"), help="default: this platform's manager")
    service.add_argument("--json", action="store_true", help="for status: one JSON document on stdout")

    with_json(sub.add_parser("doctor", help="check configuration, permissions, daemon and network"))

    client = with_json(sub.add_parser("client-config", help="print an MCP client's config snippet for cway-mcp"))
    client.add_argument("client", choices=("claude", "vscode", "cursor", "inspector"))
    client.add_argument("--username", help="CWAY_USERNAME for this client (default: the default/only account)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # usage errors exit 2 with the usage line
    out = Output(as_json=bool(getattr(args, "json", False)))
    try:
        return _dispatch(args, out)
    except ConfigError as exc:
        return out.fail(CommandFailed(f"configuration error: {exc}", code="configuration", exit_code=EXIT_USAGE))
    except UntrustedDaemonSocket as exc:  # perhaps running, but refused: starting one is not the fix
        failure = CommandFailed(str(exc), code="daemon_untrusted", exit_code=EXIT_UNAVAILABLE)
        return out.fail(failure, [UNTRUSTED_SOCKET_ADVICE])
    except DaemonUnavailable as exc:
        failure = CommandFailed(str(exc), code="daemon_unavailable", exit_code=EXIT_UNAVAILABLE)
        hint = "start the daemon with `cway-auth daemon` (or once for good: `cway-auth service install`)"
        refusal = _store_refusal()
        return out.fail(failure, [refusal] if refusal else [hint])
    except DaemonError as exc:
        body = exc.body
        failure = CommandFailed(
            body.message,
            code=exc.code.value,
            username=body.username,
            accounts=body.accounts,
            sign_in_url=body.sign_in_url,
        )
        hints = ["signed-in accounts: " + ", ".join(body.accounts)] if body.accounts else []
        if body.sign_in_url or exc.code.value in ("not_signed_in", "sign_in_required"):
            hints.append("sign in with `cway-auth login" + (f" {body.username}`" if body.username else "`"))
        return out.fail(failure, hints)
    except CommandFailed as exc:
        return out.fail(exc)
    except OSError as exc:  # a path we cannot use (someone else's directory...): one line, not a traceback
        message = unusable_path(exc.filename, exc) if exc.filename else f"{type(exc).__name__}: {exc.strerror or exc}"
        return out.fail(CommandFailed(message, code="os_error"))
    except KeyboardInterrupt:
        return out.fail(CommandFailed("interrupted", code="interrupted", exit_code=EXIT_INTERRUPTED))


def _dispatch(args: argparse.Namespace, out: Output) -> int:
    command: str = args.command
    if command == "daemon":
        return _cmd_daemon(args.log_file)
    if command == "service":
        return _cmd_service(args)
    if command == "doctor":
        from cway_authd.cli.doctor import run_doctor

        return run_doctor(sys.stdout, as_json=out.as_json)
    if command == "client-config":
        return _cmd_client_config(args, out)
    settings = load_settings(component="cli")
    if settings.auth_method == "static":
        raise CommandFailed(
            "AUTH_METHOD=static uses a fixed API token: there is no daemon session to manage", code="static_mode"
        )
    for warning in settings.warnings:
        out.err(f"warning: {warning}")
    handlers: dict[str, Callable[[Settings, argparse.Namespace, Output], int]] = {
        "login": cli_login.cmd_login,
        "complete": cli_login.cmd_complete,
        "logout": cli_accounts.cmd_logout,
        "whoami": cli_accounts.cmd_whoami,
        "status": cli_accounts.cmd_status,
        "switch": cli_accounts.cmd_switch,
        "token": cli_accounts.cmd_token,
        "rotate-key": cli_accounts.cmd_rotate_key,
    }
    return handlers[command](settings, args, out)


def _store_refusal() -> str | None:
    """Why the daemon cannot start, when it is the store's format (a newer release wrote it)."""
    from cway_authd.store.format import store_refusal

    try:
        settings = load_settings(component="cli")
    except ConfigError:
        return None
    return store_refusal(settings.state_dir)


def _err(text: str) -> None:
    print(f"cway-auth: {text}", file=sys.stderr, flush=True)


# ---- daemon / service ----------------------------------------------------------------------------


def _cmd_daemon(log_file: Path | None = None) -> int:
    if log_file is not None:  # before the settings, so that a configuration error is in the log too
        from cway_authd.daemon_log import log_to_file

        try:
            log_to_file(log_file)
        except OSError as exc:
            raise CommandFailed(f"cannot log to {log_file}: {exc.strerror or exc}", code="log_file") from None
    try:
        settings = load_settings(component="daemon")
    except ConfigError as exc:
        logging.getLogger("cway_authd").error("configuration error: %s", exc)
        _record_daemon_failure(EXIT_USAGE, f"configuration error: {exc}")
        if os.environ.get("CWAY_MCP_SUPERVISOR") == "launchd":  # no KeepAlive restart loop
            _err(f"configuration error: {exc}")
            return EXIT_OK
        raise
    from cway_authd.daemon_exit import for_supervisor
    from cway_authd.runner import configure_logging, run_daemon  # lazy: uvicorn, FastAPI and the store load only here

    configure_logging(settings.log_level)
    for warning in settings.warnings:
        logging.getLogger("cway_authd").warning("configuration: %s", warning)
    return for_supervisor(asyncio.run(run_daemon(settings)))


def _cmd_service(args: argparse.Namespace) -> int:
    from cway_authd.cli import service

    try:
        state_dir: Path | None = load_settings(component="cli").state_dir
    except ConfigError:
        state_dir = None  # install still works; status just cannot read the daemon's last error
    try:
        target: service.Target = args.target or service.default_target()
        if args.action == "install":
            return service.install(target, dry_run=args.dry_run, out=sys.stdout, err=sys.stderr, state_dir=state_dir)
        if args.action == "uninstall":
            return service.uninstall(target, dry_run=args.dry_run, out=sys.stdout)
        return service.status(target, out=sys.stdout, state_dir=state_dir, as_json=args.json)
    except (service.ServiceError, OSError) as exc:
        raise CommandFailed(str(exc)) from None


def _record_daemon_failure(code: int, message: str) -> None:
    """Keep a failure to start for `service status`, in the state dir the daemon would have used."""
    from cway_authd import last_error

    try:
        state_dir = load_settings(component="cli").state_dir
    except ConfigError:
        return
    last_error.write(state_dir, code, message)


def _cmd_client_config(args: argparse.Namespace, out: Output) -> int:
    from cway_authd.cli import client_config

    try:
        shim = client_config.cway_mcp_executable()
    except client_config.NoShim as exc:
        raise CommandFailed(str(exc), code="not_installed") from None
    username = args.username or _default_username()
    location = client_config.config_location(args.client)
    if args.client == "inspector":
        command = client_config.inspector_command(shim, username)
        if out.as_json:
            out.document({"client": args.client, "command": command, "cway_mcp": str(shim), "username": username})
        else:
            print(command, flush=True)
        return EXIT_OK
    body = client_config.snippet(args.client, shim, username)
    if out.as_json:
        out.document({"client": args.client, "config_file": location, "snippet": body, "username": username})
        return EXIT_OK
    print(f"# {args.client}: merge this into {location}", file=sys.stderr, flush=True)
    if not username:
        print("# add CWAY_USERNAME to env (no default account is known yet)", file=sys.stderr, flush=True)
    print(json.dumps(body, indent=2), flush=True)
    return EXIT_OK


def _default_username() -> str | None:
    """The configured CWAY_USERNAME, else the default account (`switch`), else none."""
    from cway_contract import read_default

    try:
        settings = load_settings(component="cli")
    except ConfigError:
        return None
    return settings.cway_username or read_default(settings.state_dir)
