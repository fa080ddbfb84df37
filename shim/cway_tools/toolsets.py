"""Which Cway tools a server lists: toolsets, the small day-to-day set, read-only, ``enable_toolset``.

Why: a hundred tool descriptions cost a model thousands of tokens on every turn, and most people
use a handful. So, as GitHub's MCP server does, every tool module names its toolset
(module constant ``TOOLSET``) and the tools of the day-to-day set (``DEFAULT_TOOLS``); the
settings (``CWAY_TOOLSETS``, ``CWAY_READ_ONLY``, read by the one config loader) choose what is
listed, and ``enable_toolset`` adds toolsets while a session runs.

How: every module registers on a scratch :class:`LazyServer`, which only records the
registrations (no pydantic models are built), so the catalogue of every tool costs almost nothing
at start. The chosen ones are then added to the real server with the SDK's own ``add_tool``; a
toolset enabled later is added the same way, then ``notifications/tools/list_changed`` tells the
client to list again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from cway_contract import ALL_TOOLSETS, TOOLSET_NAMES
from cway_tools import request_scope, sdk_adapter
from cway_tools.gateway_protocol import CwayGateway
from cway_tools.icons import icon_for_toolset
from cway_tools.lazy_tools import LazyServer, Registration

if TYPE_CHECKING:
    from cway_contract import Settings


#: Never filtered: without them nobody can sign in (``auth_tools.py``) or widen the list.
ALWAYS_ON = frozenset({"login", "complete_login", "logout", "whoami", "list_authenticated_users", "enable_toolset"})
#: Refused in read-only mode whatever its annotations say: it can send any mutation.
NEVER_READ_ONLY = frozenset({"run_graphql_mutation"})

#: A client of revision 2026-07-28 hears of list changes only on a ``subscriptions/listen`` stream.
MODERN_REVISION = "2026-07-28"

TOOLSET_SUMMARY = {
    "approvals": "artworks to approve, approve/reject, corrections, reminders",
    "projects": "projects: find, create, launch, dates, team, files, deliver, close, delete",
    "artworks": "artwork lifecycle: start, cancel, deliver, rename, dates, roles, checkout, categories",
    "media": "media centre folders and files, downloads, shares",
    "people": "users, teams, invitations, permission groups",
    "catalogue": "brands, markets, articles, artwork categories, print specifications",
    "admin": "organisations, statistics, system status, raw GraphQL query and mutation",
    "ai": "Cway AI analyses and summaries",
}


@dataclass(frozen=True)
class ToolEntry:
    """One Cway tool as registered by its module, with what the selection needs to know."""

    registration: Registration
    toolset: str
    default: bool

    @property
    def name(self) -> str:
        return self.registration.name

    @property
    def read_only(self) -> bool:
        notes = self.registration.annotations
        return bool(notes and notes.read_only_hint is True) and self.name not in NEVER_READ_ONLY


def catalogue(modules: Iterable[ModuleType], gateway: CwayGateway) -> list[ToolEntry]:
    """Every tool of ``modules``, recorded (not built) in registration order."""
    scratch = LazyServer(name="catalogue", cached={})
    entries: list[ToolEntry] = []
    for module in modules:
        toolset = module.TOOLSET
        if toolset not in TOOLSET_NAMES:
            raise ValueError(f"{module.__name__}.TOOLSET = {toolset!r} is not one of {TOOLSET_NAMES}")
        default = frozenset(getattr(module, "DEFAULT_TOOLS", ()))
        before = set(scratch.lazy_tools.registrations)
        module.register(scratch, gateway)
        for name, registration in scratch.lazy_tools.registrations.items():
            if name not in before:
                entries.append(ToolEntry(registration, toolset, name in default))
    return entries


@dataclass
class ToolSelection:
    """What is on: toolsets in full, the day-to-day set, read-only. ``None`` toolsets means all."""

    toolsets: frozenset[str] | None = None
    default_tools: bool = False
    read_only: bool = False
    #: False on servers where an enable cannot last (``cway-mcp serve``: stateless HTTP).
    dynamic: bool = True
    entries: list[ToolEntry] = field(default_factory=list)
    added: set[str] = field(default_factory=set)

    @classmethod
    def everything(cls) -> ToolSelection:
        return cls()

    @classmethod
    def from_settings(cls, settings: Settings, *, dynamic: bool = True) -> ToolSelection:
        """From the settings the one loader read (``CWAY_TOOLSETS``, ``CWAY_READ_ONLY``)."""
        return cls(
            toolsets=frozenset(settings.toolsets),
            default_tools=settings.default_tools,
            read_only=settings.read_only,
            dynamic=dynamic,
        )

    def wanted(self, entry: ToolEntry) -> bool:
        if self.read_only and not entry.read_only:
            return False
        if self.toolsets is None:
            return True
        return entry.toolset in self.toolsets or (self.default_tools and entry.default)

    def on_toolsets(self) -> list[str]:
        on = TOOLSET_NAMES if self.toolsets is None else [t for t in TOOLSET_NAMES if t in self.toolsets]
        return list(on) + (["default"] if self.default_tools and self.toolsets is not None else [])

    def apply(self, server: MCPServer) -> list[str]:
        """Add every wanted tool not on ``server`` yet; the names added."""
        new = []
        for entry in self.entries:
            if entry.name not in self.added and self.wanted(entry):
                reg = entry.registration
                server.add_tool(
                    reg.fn,
                    name=reg.name,
                    title=reg.title,
                    description=reg.description,
                    annotations=reg.annotations,
                    icons=reg.icons or icon_for_toolset(entry.toolset),
                    meta=reg.meta,
                    structured_output=reg.structured_output,
                )
                self.added.add(entry.name)
                new.append(entry.name)
        return new

    def why_off(self, name: str) -> str | None:
        """Why the known tool ``name`` is not on this server (None: it is on, or no such tool)."""
        if name in self.added:
            return None
        entry = next((e for e in self.entries if e.name == name), None)
        if entry is None:
            return None
        if self.read_only and not entry.read_only:
            return f"{name} changes Cway, and this server runs read-only (CWAY_READ_ONLY); nothing was sent."
        if not self.dynamic:
            return (
                f"{name} is in the {entry.toolset!r} toolset, which this server's operator has not turned on "
                "(CWAY_TOOLSETS); nothing was sent."
            )
        return f"{name} is in the {entry.toolset!r} toolset, which is off: call enable_toolset with name {entry.toolset!r} first."

    def enable(self, names: Sequence[str]) -> None:
        if self.toolsets is None:
            return
        self.toolsets = frozenset(TOOLSET_NAMES) if ALL_TOOLSETS in names else self.toolsets | set(names)


def select_tools(
    server: MCPServer, modules: Iterable[ModuleType], gateway: CwayGateway, selection: ToolSelection
) -> ToolSelection:
    """Put the selected tools of ``modules`` and ``enable_toolset`` on ``server``."""
    selection.entries = catalogue(modules, gateway)
    selection.apply(server)
    if selection.toolsets is not None and set(TOOLSET_NAMES) - selection.toolsets:  # else nothing to enable
        register_enable_toolset(server, selection)
    if selection.default_tools:
        compact_listing(server)
    server.middleware.append(OffToolAnswer(selection))
    return selection


class OffToolAnswer:
    """A call to a tool that exists but is off gets a sentence saying how to get it, not "unknown tool".

    Models remember tool names from earlier turns, documentation and other sessions; telling them
    which toolset to enable (or that the server is read-only) turns a dead end into one more call.
    """

    def __init__(self, selection: ToolSelection) -> None:
        self.selection = selection

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "tools/call" and isinstance(ctx.params, dict):
            problem = self.selection.why_off(str(ctx.params.get("name", "")))
            if problem:
                return CallToolResult(content=[TextContent(type="text", text=problem)], is_error=True)
        return await call_next(ctx)


def compact_listing(server: MCPServer) -> None:
    """List tools the short way: no output schemas, input schemas without pydantic's noise.

    Why: the day-to-day set must cost a model few tokens on every turn, and output schemas are
    more than half of a listing (toolset icons, a few hundred characters each, go too). Without one the tool still returns its ``structuredContent`` and
    text (clients validate only against a listed schema); the model reads the result's shape from the
    answer. Input schemas lose pydantic's generated ``title`` per property and the ``anyOf [X,
    null]`` of optional parameters (omitting one is the same as null), nothing a caller must obey.
    Chosen with the default set (``CWAY_TOOLSETS`` unset or with ``default``); toolsets listed
    explicitly or ``all`` keep the full schemas.
    """
    full = server.list_tools

    async def list_tools() -> list[Any]:
        return [
            tool.model_copy(
                update={"output_schema": None, "icons": None, "input_schema": compact_schema(tool.input_schema)}
            )
            for tool in await full()
        ]

    server.list_tools = list_tools  # type: ignore[method-assign]


def compact_schema(schema: Any) -> Any:
    """A copy of ``schema`` without property titles and with ``X | None = None`` as plain ``X``."""
    if isinstance(schema, list):
        return [compact_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: compact_schema(v) for k, v in schema.items() if not (k == "title" and isinstance(v, str))}
    alternatives = out.get("anyOf")
    if isinstance(alternatives, list) and "default" in out and out["default"] is None:
        others = [a for a in alternatives if a != {"type": "null"}]
        if len(others) == 1 and isinstance(others[0], dict):
            del out["anyOf"], out["default"]
            out.update(others[0])
    return out


def declare_tools_list_changed(server: MCPServer) -> None:
    """Declare ``tools.listChanged`` in the 2025-11-25 handshake (enable_toolset changes the list);
    2026-07-28 derives it from ``subscriptions/listen`` being served, which ``MCPServer`` does."""
    sdk_adapter.declare_tools_list_changed(server)


ENABLE_DESCRIPTION = (
    "Turn on more Cway tools for this session. Toolsets: "
    + "; ".join(f"{name} ({what})" for name, what in TOOLSET_SUMMARY.items())
    + "; or 'all'. Call when the user needs something the listed tools do not do."
)


def register_enable_toolset(server: MCPServer, selection: ToolSelection) -> None:
    """``enable_toolset``: add toolsets at run time and tell the client its tool list changed."""

    @server.tool(
        title="Turn on more Cway tools",
        description=ENABLE_DESCRIPTION,
        annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True),
        structured_output=False,
    )
    async def enable_toolset(
        name: Annotated[str, Field(description="A toolset name from the description, or 'all'.")],
        ctx: Context,
    ) -> str:
        wanted = name.strip().lower()
        if wanted not in (*TOOLSET_NAMES, ALL_TOOLSETS):
            raise ToolError(f"Unknown toolset {name!r}; use one of: {', '.join(TOOLSET_NAMES)}, all.")
        if not selection.dynamic:
            state = ", ".join(selection.on_toolsets())
            raise ToolError(
                "On this server the toolsets are fixed by its operator (CWAY_TOOLSETS); "
                f"nothing changed. On: {state}. Ask the operator to add {wanted!r}."
            )
        selection.enable([wanted])
        added = selection.apply(server)
        if not added:
            return f"Nothing new: the {wanted} tools this server offers are already on."
        await _announce(ctx)
        read_only = " (read-only server: only the read-only ones)" if selection.read_only else ""
        return f"Turned on {len(added)} tools{read_only}: {', '.join(added)}."


async def _announce(ctx: Context) -> None:
    """``notifications/tools/list_changed``: on the session's stream for 2025-11-25; on
    ``subscriptions/listen`` streams (the server's bus) for 2026-07-28, which has no other channel."""
    if request_scope.protocol_at_least(MODERN_REVISION):
        await ctx.notify_tools_changed()
    else:
        await ctx.session.send_tool_list_changed()
