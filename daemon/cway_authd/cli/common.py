"""What every ``cway-auth`` command shares: output that is flushed line by line, ``--json``, daemon calls.

Every line is flushed as it is written: pipx and uv launchers run ``python -E`` (so
``PYTHONUNBUFFERED`` is ignored), and ``cway-auth login | tee``, ``ssh host cway-auth login`` or an
IDE task would otherwise see the sign-in URL only after the command had exited.

``--json`` output is one JSON document on stdout. Success: the command's own object (see
``docs/cli.md``). Failure: ``{"error": {"code": ..., "message": ..., "exit_code": ...}}`` plus
``accounts`` / ``sign_in_url`` / ``username`` when the daemon said so. In JSON mode progress
lines go to stderr.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from cway_authd.daemon_exit import EXIT_FAILED  # 0 and 1 mean the same for the CLI as for the daemon
from cway_contract import DaemonClient, Settings, daemon_socket

T = TypeVar("T")

EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_INTERRUPTED = 130


class CommandFailed(Exception):
    """A command could not do its job; the message is printed as one line (or as a JSON error)."""

    def __init__(self, message: str, *, code: str = "failed", exit_code: int = EXIT_FAILED, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.exit_code = exit_code
        self.extra = {k: v for k, v in extra.items() if v is not None}


class Output:
    """stdout for results, stderr for diagnostics; in JSON mode stdout carries exactly one document."""

    def __init__(self, as_json: bool = False) -> None:
        self.as_json = as_json

    def line(self, text: str = "") -> None:
        """A human line: stdout normally, stderr in JSON mode (progress must not corrupt the document)."""
        print(text, file=sys.stderr if self.as_json else sys.stdout, flush=True)

    def err(self, text: str) -> None:
        print(f"cway-auth: {text}", file=sys.stderr, flush=True)

    def document(self, payload: Any) -> None:
        print(json.dumps(payload, indent=2, default=str), flush=True)

    def fail(self, exc: CommandFailed, hints: list[str] | None = None) -> int:
        if self.as_json:
            body = {"code": exc.code, "message": str(exc), "exit_code": exc.exit_code, **exc.extra}
            self.document({"error": body})
        else:
            self.err(str(exc))
            for hint in hints or []:
                print(f"  {hint}", file=sys.stderr, flush=True)
        return exc.exit_code


def call(settings: Settings, fn: Callable[[DaemonClient], Awaitable[T]], *, timeout: float | None = None) -> T:
    """One daemon call on a fresh client (the CLI is short-lived), at the socket discovery finds."""

    async def run() -> T:
        socket_path = daemon_socket(settings)
        async with DaemonClient(socket_path, timeout=timeout or settings.http_timeout_seconds) as client:
            return await fn(client)

    return asyncio.run(run())
