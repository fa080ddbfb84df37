"""Assembling the MCP server: settings in, an :class:`MCPServer` with every tool out.

The shim keeps no state of its own between calls (the daemon has the tokens), so building the
server is just wiring: one daemon connection, one Cway HTTP client, the auth tools and the Cway
tools. Both clients are closed when the stdio session ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from mcp.server.mcpserver import MCPServer

from cway_contract import Settings, __version__
from cway_mcp_shim.auth_tools import AuthTools, register_auth_tools
from cway_mcp_shim.bearer_prefetch import BearerPrefetch
from cway_mcp_shim.daemon_access import DaemonAccess
from cway_mcp_shim.daemon_bearer import daemon_bearers
from cway_mcp_shim.live import Follows, install_follows, subscription_bus
from cway_tools import (
    SERVER_ICONS,
    CwayHttpGateway,
    LazyServer,
    ToolSelection,
    declare_tools_list_changed,
    pending,
    register_cway_tools,
)
from cway_tools import install as install_middleware

SERVER_NAME = "cway"

INSTRUCTIONS = """\
Tools for Cway, the artwork and packaging approval platform: projects, artworks to approve or \
upload, media center folders and files, shares, users and statistics.

Accounts: every call acts as one signed-in Cway user. By default that is the account this server \
was configured for (CWAY_USERNAME) or, failing that, the only account signed in on this machine. \
Pass `username` only when the user has several accounts and says which one to use.

Signing in: when a tool answers that a Cway sign-in is needed, show the user the sign-in URL from \
the answer and ask them to open it and sign in; then retry the same call. If their browser cannot \
reach this machine's localhost, ask them for the address the browser ended up on and call \
`complete_login` with it. `login` starts a sign-in on request, `whoami` shows who is signed in and \
for how long, `list_authenticated_users` lists every account, `logout` signs one out. Never ask \
the user for a password or token.

Tools come in toolsets; when none of the listed tools does what the user needs (folders, shares, \
people, catalogue, AI, admin...), call `enable_toolset` and then use the new tools.

Errors are short and say what to do next; relay them rather than retrying blindly.
"""

STATIC_NOTE = (
    "\nThis server runs with a static Cway API token (AUTH_METHOD=static): every call acts as the "
    "token's owner and the sign-in tools are not available."
)


@dataclass
class ShimRuntime:
    """What one shim process owns: its settings, the daemon door (oauth2 only) and the Cway client."""

    settings: Settings
    daemon: DaemonAccess | None
    gateway: CwayHttpGateway

    @classmethod
    def create(cls, settings: Settings) -> ShimRuntime:
        daemon = DaemonAccess(settings) if settings.auth_method == "oauth2" else None
        bearers = daemon_bearers(daemon) if daemon is not None else None
        return cls(settings=settings, daemon=daemon, gateway=CwayHttpGateway(settings, bearers))

    async def aclose(self) -> None:
        await pending.JOBS.aclose()  # long jobs followed in the background end with the session
        await self.gateway.aclose()
        if self.daemon is not None:
            await self.daemon.aclose()


def build_server(settings: Settings, runtime: ShimRuntime | None = None) -> MCPServer:
    """The MCP server for these settings; ``runtime`` lets a test supply its own clients."""
    runtime = runtime or ShimRuntime.create(settings)

    follows = Follows(runtime.gateway)  # the artworks and projects this session follows (live.py)
    bus = subscription_bus()

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[dict[str, object]]:
        try:
            yield {}
        finally:
            await follows.close()  # a follow ends with the session
            await runtime.aclose()

    server = LazyServer(  # tools/list from the committed schema cache: lazy_tools.py
        name=SERVER_NAME,
        title="Cway",
        version=__version__,
        instructions=INSTRUCTIONS + (STATIC_NOTE if settings.auth_method == "static" else ""),
        lifespan=lifespan,
        log_level=settings.log_level,
        icons=SERVER_ICONS,
        subscriptions=bus,
    )
    register_auth_tools(server, AuthTools(runtime.daemon, runtime.gateway))
    selection = register_cway_tools(server, runtime.gateway, ToolSelection.from_settings(settings))
    declare_tools_list_changed(server)  # enable_toolset changes the list while a session runs
    prefetch = None
    if runtime.daemon is not None:  # oauth2: the tools that send GraphQL as the caller ask the daemon early
        cway_tools = frozenset(entry.name for entry in selection.entries) | {"whoami"}
        prefetch = BearerPrefetch(runtime.daemon, cway_tools, settings.cway_username)
    install_middleware(server, prefetch)  # after every tool: it closes their input schemas
    install_follows(server, follows, bus)
    return server
