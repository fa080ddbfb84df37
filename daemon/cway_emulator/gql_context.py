"""Per-request GraphQL context and the access rules every resolver shares.

Isolation is enforced here, once: an object of another organisation is indistinguishable from
one that does not exist ("not found"), so ids cannot be probed across tenants.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from cway_contract import Clock
from cway_emulator.fixtures import Record
from cway_emulator.knobs import Knobs
from cway_emulator.store import DataStore

Resolver = Callable[..., Any]

#: Artwork states in which nothing is left to do.
FINISHED_ARTWORK_STATES = frozenset({"APPROVED", "BUNDLED", "SHIPPED", "DELIVERED", "CANCELED"})
APPROVABLE_STATES = frozenset({"FOR_REVIEW", "COMMENTED"})


@dataclass
class Ctx:
    user: Record
    store: DataStore
    clock: Clock
    base_url: str
    #: The instance's knobs, for resolvers whose behaviour tests bend (AI job timing and outcome).
    knobs: Knobs = field(default_factory=Knobs)

    @property
    def username(self) -> str:
        return str(self.user["username"])

    @property
    def org_id(self) -> str | None:
        """The current organisation: the token's (a per-organisation static token), else the first membership."""
        current = self.user.get("_current_org")
        if current:
            return str(current)
        orgs = self.user.get("_orgs") or []
        return str(orgs[0]) if orgs else None

    @property
    def permissions(self) -> Record:
        perms: Record = self.user.get("_permissions", {})
        return perms

    def now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    def today(self) -> str:
        return self.clock.now().date().isoformat()


def ctx_of(info: GraphQLResolveInfo) -> Ctx:
    ctx = info.context
    assert isinstance(ctx, Ctx)
    return ctx


def not_found(kind: str, ident: Any) -> GraphQLError:
    return GraphQLError(f"{kind} {ident} not found", extensions={"classification": "NOT_FOUND"})


def forbidden(message: str) -> GraphQLError:
    return GraphQLError(f"Access denied: {message}", extensions={"classification": "FORBIDDEN"})


def in_org(ctx: Ctx, collection: dict[str, Record], ident: Any, kind: str) -> Record:
    """Fetch an object of the caller's current organisation, or fail with "not found"."""
    record = collection.get(str(ident).lower())
    if record is None or record.get("_org") != ctx.org_id:
        raise not_found(kind, ident)
    return record


def org_records(ctx: Ctx, collection: dict[str, Record]) -> list[Record]:
    return [r for r in collection.values() if r.get("_org") == ctx.org_id]


def require(ctx: Ctx, permission: str) -> None:
    if not ctx.permissions.get(permission):
        raise forbidden(f"missing permission {permission}")


def paginate(items: list[Any], paging: Record | None, default_size: int = 25) -> tuple[list[Any], int]:
    """Slice by ``Paging{page (0-based), pageSize}``; returns (page items, page number)."""
    page = int(paging["page"]) if paging else 0
    size = int(paging["pageSize"]) if paging else default_size
    if page < 0 or size < 1 or size > 1000:
        raise GraphQLError("Invalid paging: page must be >= 0 and pageSize between 1 and 1000")
    return items[page * size : (page + 1) * size], page


def thread_id(*parts: str) -> str:
    return "thread_emu_" + hashlib.sha256("/".join(parts).encode()).hexdigest()[:24]


def user_ref(ctx: Ctx, username: str | None) -> Record | None:
    return ctx.store.cway_user(username) if username else None


def merge(*tables: dict[str, dict[str, Resolver]]) -> dict[str, dict[str, Resolver]]:
    out: dict[str, dict[str, Resolver]] = {}
    for table in tables:
        for type_name, fields in table.items():
            out.setdefault(type_name, {}).update(fields)
    return out


def contains(haystack: Iterable[str | None], needle: str | None) -> bool:
    if not needle:
        return True
    low = needle.lower()
    return any(low in (h or "").lower() for h in haystack)
