"""``cway-mcp serve``: run one replica of the remote MCP server in the foreground.

Settings as for the daemon (Entra, Cway) plus ``CWAY_MCP_PUBLIC_URL``, ``CWAY_MCP_DATABASE_URL``
and ``CWAY_MCP_STORE_KEY`` (see docs/deploy.md). Logs are JSON lines on stderr. SIGTERM stops
taking requests, finishes those in flight (a refresh in flight commits or rolls back; either way
nothing committed is lost) and exits 0; a configuration error exits 2, a database that cannot be
reached or migrated exits 3. ``cway-mcp serve admin …`` lists and revokes grants and keeps the client deny list (:mod:`admin_cli`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from cway_contract import __version__

EXIT_CONFIG = 2
EXIT_DATABASE = 3

log = logging.getLogger("cway_remote")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="cway-mcp serve",
        description="Run the Cway MCP server over Streamable HTTP with OAuth (one replica; run several behind "
        "a load balancer, all on one PostgreSQL database).",
        epilog="`cway-mcp serve admin grants|revoke|deny|allow|denied --help`: list grants, revoke a user's or a "
        "client's, deny a client for good.",
    )
    parser.add_argument(
        "command",
        nargs="?",
        choices=["migrate"],
        help="`migrate`: apply this release's database migrations and exit (a deploy's migration job); "
        "without it, serve",
    )
    parser.add_argument("--version", action="version", version=f"cway-mcp-remote {__version__}")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    parser.add_argument(
        "--refresh-interval",
        type=float,
        default=15.0,
        help="seconds between this replica's rounds of scheduled token refreshes (default 15)",
    )
    parser.add_argument(
        "--reencrypt",
        action="store_true",
        help="re-encrypt every stored token with the first key of CWAY_MCP_STORE_KEY, print the counts and exit "
        "(key rotation; see docs/deploy.md)",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    if argv[:1] == ["admin"]:  # `cway-mcp serve admin …`: grants, revocation, deny list (admin_cli.py)
        from cway_remote.admin_cli import main as admin_main

        return admin_main(argv[1:])
    args = parse_args(argv)
    from cway_contract import ConfigError
    from cway_remote.audit import configure_json_logging
    from cway_remote.settings import load_remote_settings

    try:
        settings = load_remote_settings()
    except ConfigError as exc:
        print(f"cway-mcp serve: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_json_logging(settings.base.log_level)
    try:
        return asyncio.run(_serve(settings, args))
    except KeyboardInterrupt:
        return 0


async def _serve(settings: object, args: argparse.Namespace) -> int:
    import signal
    import time
    from types import FrameType

    import uvicorn

    from cway_remote.app import RemoteRuntime, build_app
    from cway_remote.settings import RemoteSettings

    assert isinstance(settings, RemoteSettings)
    drain_seconds = settings.drain_seconds

    class _Server(uvicorn.Server):
        """The drain: the first SIGTERM marks the runtime draining (``/readyz`` 503, ``Connection: close``)
        and keeps serving for ``CWAY_MCP_DRAIN_SECONDS``, so the balancer stops sending before the
        listener closes; then uvicorn's graceful shutdown lets the calls in flight finish (bounded by
        ``CWAY_MCP_GRACEFUL_SECONDS``). A second SIGTERM, or SIGINT, stops at once.

        uvicorn re-raises a captured SIGTERM after its graceful shutdown (the process then dies by
        the signal); a requested stop here is a clean exit, 0, after the runtime is closed too."""

        drain_until: float | None = None

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if sig == signal.SIGTERM and self.drain_until is None and drain_seconds > 0:
                runtime.draining = True
                self.drain_until = time.monotonic() + drain_seconds
                log.info("SIGTERM: draining for %.1f s (/readyz answers 503), then stopping", drain_seconds)
                return
            runtime.draining = True
            super().handle_exit(sig, frame)
            if sig == signal.SIGTERM:
                self._captured_signals = [s for s in self._captured_signals if s != signal.SIGTERM]

        async def on_tick(self, counter: int) -> bool:
            if self.drain_until is not None and time.monotonic() >= self.drain_until:
                self.should_exit = True
            return await super().on_tick(counter)

    try:
        runtime = await RemoteRuntime.create(settings)
    except (OSError, RuntimeError) as exc:
        log.error("cannot use the database: %s", type(exc).__name__ if isinstance(exc, OSError) else exc)
        return EXIT_DATABASE
    except Exception as exc:  # asyncpg's errors (authentication, missing database...) are not OSError
        log.error("cannot use the database: %s", type(exc).__name__)
        return EXIT_DATABASE
    if args.command == "migrate":
        version = await runtime.schema_version()
        await runtime.aclose()
        print(f"database schema at version {version}")
        return 0
    if args.reencrypt:
        try:
            result = await runtime.store.reencrypt_all()
        finally:
            await runtime.aclose()
        print(f"re-encrypted {result.rotated} record(s); {result.set_aside} could not be read with these keys")
        return 0 if result.set_aside == 0 else 1
    try:
        app = build_app(runtime)
        config = uvicorn.Config(
            app,
            host=args.host,
            port=args.port,
            log_config=None,
            access_log=False,
            proxy_headers=True,
            forwarded_allow_ips=settings.trusted_proxies,  # None: uvicorn's default, loopback only
            timeout_graceful_shutdown=int(settings.graceful_seconds),
        )
        server = _Server(config)
        runtime.start_background(args.refresh_interval)
        log.info("serving %s on %s:%d (replica %s)", settings.resource_url, args.host, args.port, runtime.replica)
        await server.serve()
    finally:
        await runtime.aclose()
    return 0


def console_main() -> int:
    """``cway-mcp-remote`` (and ``cway-mcp serve``, ``python -m cway_remote``)."""
    return main(sys.argv[1:])
