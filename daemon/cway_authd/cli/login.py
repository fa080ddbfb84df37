"""``cway-auth login`` and ``complete``: start a sign-in, show the URL at once, wait with a countdown.

``login`` starts the daemon when none answers (detached, logging to ``<state dir>/daemon.log``, as
the shim's autostart does), so a first-time user needs one command, not two.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import webbrowser
from pathlib import Path

from cway_authd.cli.common import EXIT_UNAVAILABLE, CommandFailed, Output, call
from cway_authd.daemon_exit import EXIT_OK
from cway_contract import (
    DaemonUnavailable,
    Settings,
    SignInCompleteRequest,
    SignInStatus,
    UntrustedDaemonSocket,
    can_open_browser,
    make_private_dirs,
    open_private_append,
    unusable_path,
)

POLL_INTERVAL = 1.0
#: Without a terminal (a pipe, an IDE task, ssh without -t) one countdown line this often.
PIPE_COUNTDOWN_EVERY = 30.0
DAEMON_START_WAIT = 15.0
DAEMON_LOG = "daemon.log"


def start_daemon(settings: Settings, out: Output) -> None:
    """Start ``cway-auth daemon`` in the background and wait until it answers."""
    state_dir = settings.state_dir
    try:
        make_private_dirs(state_dir)
    except OSError as exc:
        raise CommandFailed(f"cannot start the daemon: {unusable_path(state_dir, exc)}", code="state_dir") from None
    log_path = state_dir / DAEMON_LOG
    out.line(f"No cway-auth daemon answers; starting one (log: {log_path})…")
    exe = Path(sys.executable).parent / "cway-auth"
    argv = [str(exe), "daemon"] if exe.is_file() else [sys.executable, "-m", "cway_authd.cli", "daemon"]
    argv += ["--log-file", str(log_path)]  # the daemon rotates it; stderr catches only a crash before that
    try:
        fd = open_private_append(log_path)  # O_NOFOLLOW, and our own regular file before any write
    except OSError as exc:
        detail = unusable_path(log_path, exc) if exc.filename else str(exc)
        raise CommandFailed(f"cannot start the daemon: {detail}", code="log_file") from None
    try:
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=fd, start_new_session=True, close_fds=True
        )
    finally:
        os.close(fd)
    deadline = time.monotonic() + DAEMON_START_WAIT
    while time.monotonic() < deadline:
        try:
            call(settings, lambda c: c.health(), timeout=2.0)
            return
        except DaemonUnavailable:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    said = _last_line(log_path)
    raise CommandFailed(
        "the cway-auth daemon could not be started" + (f": {said}" if said else "") + f" (log: {log_path})",
        code="daemon_unavailable",
        exit_code=EXIT_UNAVAILABLE,
    )


def _last_line(path: Path) -> str | None:
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines()[-20:] if ln.strip()]
    except OSError:
        return None
    return lines[-1][:300] if lines else None


def cmd_login(settings: Settings, args: argparse.Namespace, out: Output) -> int:
    try:
        flow = call(settings, lambda c: c.start_sign_in(args.username))
    except UntrustedDaemonSocket:
        raise  # a socket is there but refused: another daemon would not help (cli.main words it)
    except DaemonUnavailable:
        start_daemon(settings, out)
        flow = call(settings, lambda c: c.start_sign_in(args.username))
    if flow.state != "pending" or not flow.authorization_url:
        return report_sign_in(flow, out)
    out.line("To sign in, open this address in a browser:")
    out.line(f"  {flow.authorization_url}")
    if not args.no_browser and settings.open_browser and can_open_browser():
        try:
            opened = webbrowser.open(flow.authorization_url)
        except webbrowser.Error:
            opened = False
        out.line("A browser window should have opened." if opened else "Could not open a browser; use the address.")
    out.line(
        "If the browser runs on another machine, it ends on an address that does not load: "
        "copy it and run `cway-auth complete` here."
    )
    timeout = max(args.timeout, 1.0)
    out.line(f"Waiting for the sign-in to finish (up to {_clock(timeout)}; Ctrl-C to stop)…")
    return report_sign_in(_wait(settings, flow, timeout, out), out)


def _clock(seconds: float) -> str:
    whole = max(0, int(seconds + 0.5))
    return f"{whole // 60}:{whole % 60:02d}"


def _wait(settings: Settings, flow: SignInStatus, timeout: float, out: Output) -> SignInStatus:
    """Poll until the flow leaves "pending", showing the time left (in place on a terminal)."""
    tty = sys.stderr.isatty() if out.as_json else sys.stdout.isatty()
    stream = sys.stderr if out.as_json else sys.stdout
    deadline = time.monotonic() + timeout
    next_pipe_line = time.monotonic() + PIPE_COUNTDOWN_EVERY
    flow_id = flow.flow_id
    try:
        while flow.state == "pending":
            left = deadline - time.monotonic()
            if left <= 0:
                raise CommandFailed(
                    f"gave up waiting after {timeout:.0f}s; run `cway-auth login` again (or --timeout longer)",
                    code="timeout",
                )
            if tty:
                stream.write(f"\r  {_clock(left)} left ")
                stream.flush()
            elif time.monotonic() >= next_pipe_line:
                out.line(f"  still waiting, {_clock(left)} left")
                next_pipe_line += PIPE_COUNTDOWN_EVERY
            time.sleep(min(POLL_INTERVAL, max(left, 0.05)))
            flow = call(settings, lambda c: c.sign_in_status(flow_id))
    finally:
        if tty:
            stream.write("\r" + " " * 16 + "\r")
            stream.flush()
    return flow


def report_sign_in(flow: SignInStatus, out: Output) -> int:
    if flow.state == "completed":
        if out.as_json:
            out.document(flow.model_dump(mode="json", exclude={"authorization_url"}))
        else:
            out.line(f"Signed in as {flow.username}")
        if flow.identity_mismatch:
            out.line(
                f"Note: you asked for {flow.requested_username}, but the browser signed in as {flow.username}. "
                f"To use {flow.requested_username}, sign out of Microsoft in the browser and run "
                f"`cway-auth login {flow.requested_username}` again."
            )
        return EXIT_OK
    reason = flow.message or ("the sign-in expired" if flow.state == "expired" else "the sign-in failed")
    raise CommandFailed(f"sign-in {flow.state}: {reason}", code=f"sign_in_{flow.state}", flow_id=flow.flow_id)


def cmd_complete(settings: Settings, args: argparse.Namespace, out: Output) -> int:
    if args.code or args.state:
        if not (args.code and args.state) or args.redirect_url:
            raise CommandFailed("give either the redirect URL, or both --code and --state", code="usage")
        request = SignInCompleteRequest(code=args.code, state=args.state)
    else:
        url = args.redirect_url
        if url in (None, "-"):
            if sys.stdin.isatty():
                print("Paste the address the browser ended on, then press Enter:", file=sys.stderr, flush=True)
            url = sys.stdin.readline().strip()
        if not url:
            raise CommandFailed("no redirect URL given", code="usage")
        request = SignInCompleteRequest(redirect_url=url)
    return report_sign_in(call(settings, lambda c: c.complete_sign_in(request)), out)
