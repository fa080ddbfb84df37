"""``cway-mcp``: the MCP stdio server that MCP clients (Claude Desktop, VS Code, ...) spawn.

stdout is the MCP channel, so nothing but protocol messages may reach it: logging goes to
stderr, and no traceback is printed where a client would have to parse it. A bad configuration
is one line on stderr, and the shim still serves MCP: every tool call answers with that line and
its fix (:mod:`cway_mcp_shim.config_error_server`), so the person reads it in the chat. The server module is imported only after the
arguments are parsed, so ``--help`` and ``--version`` answer at once.

One import is refused on purpose (:func:`skip_optional_uvicorn`): the MCP SDK's HTTP transports
import ``sse_starlette``, which imports uvicorn *if installed* (uvicorn is, for the daemon) only
to patch its shutdown. This process speaks stdio and never runs uvicorn; loading it costs
every start roughly 80–200 ms (``python -X importtime``, the uvicorn subtree).
"""

from __future__ import annotations

import argparse
import logging
import sys

from cway_contract import __version__

EXIT_CONFIG = 2

DESCRIPTION = """\
Cway MCP server (stdio). Started by an MCP client, not by hand.

Settings come from the environment, a .env file in the working directory, or the config file
($CWAY_MCP_CONFIG). The ones a client usually sets:
  CWAY_USERNAME          the Cway account this client acts as (per-user sign-in)
  AUTH_METHOD            oauth2 (default; tokens from `cway-auth daemon`) or static
  CWAY_API_TOKEN         the Cway API token, for AUTH_METHOD=static
  CWAY_API_URL           Cway's GraphQL endpoint (default https://app.cway.se/graphql)
  CWAY_MCP_AUTOSTART     1 (default) starts `cway-auth daemon` when it is not running; 0 does not
  CWAY_MCP_OPEN_BROWSER  1 (default) opens the sign-in page on desktop sessions; 0 does not
  CWAY_MCP_LOG_LEVEL     DEBUG, INFO (default), WARNING or ERROR (logs go to stderr)
  CWAY_TOOLSETS          which tools are listed: a comma list of approvals, projects, artworks,
                         media, people, catalogue, admin, ai (and default), or all
                         (default: the day-to-day set; enable_toolset adds more at run time)
  CWAY_READ_ONLY         1 lists only read-only tools (same as --read-only)

`cway-mcp serve --help` describes the remote server (Streamable HTTP with OAuth, PostgreSQL).
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="cway-mcp", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"cway-mcp {__version__}")
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="list only the tools that change nothing in Cway (the same as CWAY_READ_ONLY=1)",
    )
    return parser.parse_args(argv)


def configure_logging(level: str) -> None:
    """stderr only; httpx's per-request INFO lines are noise for a client's log pane."""
    logging.basicConfig(
        stream=sys.stderr, level=level, format="cway-mcp %(levelname)s %(name)s: %(message)s", force=True
    )
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def skip_optional_uvicorn() -> None:
    """Make ``import uvicorn`` fail in this process, as if it were not installed.

    A ``None`` in ``sys.modules`` is the import system's documented "not importable" marker;
    ``sse_starlette`` catches the ``ImportError``. Only this entry point does it: importing the
    package (tests, the daemon) changes nothing, and the shim never needs uvicorn.
    """
    sys.modules.setdefault("uvicorn", None)  # type: ignore[arg-type]


def run_remote_server(args: list[str]) -> int:
    """``cway-mcp serve …`` runs the remote server's own program (``cway-mcp-remote``, the
    ``cway_remote`` package) in this process, as ``python -m cway_remote …`` would: by name, so the
    stdio shim never imports the remote server, uvicorn or the database driver."""
    import runpy

    sys.argv = ["cway-mcp serve", *args]
    runpy.run_module("cway_remote", run_name="__main__", alter_sys=True)
    return 0  # cway_remote's __main__ exits with the server's status


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["serve"]:
        return run_remote_server(args[1:])
    parsed = parse_args(argv)
    skip_optional_uvicorn()
    import os

    from cway_contract import ConfigError, load_settings

    # --read-only is one more source of CWAY_READ_ONLY, the strongest: read by the one loader.
    env = {**os.environ, "CWAY_READ_ONLY": "1"} if parsed.read_only else None
    try:
        settings = load_settings(env, component="shim")
    except ConfigError as exc:
        print(f"cway-mcp: configuration error: {exc}", file=sys.stderr, flush=True)
        return _serve_config_error(exc)
    configure_logging(settings.log_level)
    for warning in settings.warnings:
        logging.getLogger("cway_mcp_shim").warning("configuration: %s", warning)

    from cway_mcp_shim.server import build_server

    try:
        build_server(settings).run("stdio")
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # one line for the client's log, not a traceback on the channel
        logging.getLogger("cway_mcp_shim").debug("server stopped", exc_info=True)
        print(f"cway-mcp: stopped: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


def _serve_config_error(error: Exception) -> int:
    from cway_contract import ConfigError
    from cway_mcp_shim.config_error_server import ConfigErrorServer

    assert isinstance(error, ConfigError)
    configure_logging("WARNING")
    try:
        ConfigErrorServer(error).run("stdio")
    except KeyboardInterrupt:
        pass
    return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
