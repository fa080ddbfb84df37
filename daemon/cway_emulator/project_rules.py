"""Who may change a project: one rule for every resolver module of the emulator's Cway.

A project is *theirs* for its orderer and its project manager (``onlyMine``, ``canManageProject``);
it is *managed* by them or by a system admin (every change: launch, deliver, close, delete, approver
and supplier changes, uploads to it). The resolvers import these instead of restating them, so the
emulator cannot be lenient in one mutation and strict in another by accident.
"""

from __future__ import annotations

from cway_emulator.fixtures import Record
from cway_emulator.gql_context import Ctx, forbidden


def is_theirs(ctx: Ctx, project: Record) -> bool:
    """The caller is the project's orderer or project manager."""
    return ctx.username in (project["_orderer"], project.get("_manager"))


def manages(ctx: Ctx, project: Record) -> bool:
    """The caller may change the project: it is theirs, or they are a system admin."""
    return is_theirs(ctx, project) or bool(ctx.permissions.get("isSystemAdmin"))


def require_manages(ctx: Ctx, project: Record, *, to: str | None = None) -> None:
    """Refuse (``FORBIDDEN``) unless :func:`manages`; ``to`` names the change in the message."""
    if not manages(ctx, project):
        if to is not None:
            raise forbidden(f"you cannot {to} project {project['id']}")
        raise forbidden(f"only the orderer or project manager may change project {project['id']}")
