"""The ``artwork(id)`` and ``project(id)`` subscriptions: an event each time the object changes.

Cway's schema offers both (``Subscription.artwork(id: UUID!): Artwork!``, ``project(id: UUID!):
Project!``) and documents nothing more; the emulator models the plain reading: a subscriber of
the object's organisation (the same rule as the ``artwork`` / ``project`` queries: another
organisation's id is "not found" at subscribe time) gets the object as it is now, once per change
made by anyone after it subscribed (a mutation of the record, a new history entry). No event at
subscribe time and no replay of changes made before it.

The store has no change feed, so each subscriber looks at its object every :data:`TICK_SECONDS`
(real time, like the ``download`` subscription) and compares a fingerprint of the record.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from graphql import GraphQLResolveInfo

from cway_emulator.fixtures import Record
from cway_emulator.gql_context import Ctx, Resolver, ctx_of, in_org

#: Real seconds between two looks at a subscriber's object.
TICK_SECONDS = 0.05


def _fingerprint(ctx: Ctx, collection: dict[str, Record], ident: str) -> str:
    with ctx.store.lock:
        return json.dumps([collection.get(ident), ctx.store.events.get(ident, [])], sort_keys=True, default=str)


async def _changes(ctx: Ctx, collection: dict[str, Record], ident: str) -> AsyncIterator[Record]:
    seen = _fingerprint(ctx, collection, ident)
    while True:
        await asyncio.sleep(TICK_SECONDS)
        now = _fingerprint(ctx, collection, ident)
        if now != seen:
            seen = now
            with ctx.store.lock:
                record = collection.get(ident)
            if record is None:  # deleted: the stream ends
                return
            yield record


def s_artwork(_: Any, info: GraphQLResolveInfo, id: str) -> AsyncIterator[Record]:
    ctx = ctx_of(info)
    record = in_org(ctx, ctx.store.artworks, id, "Artwork")  # refused at subscribe time, like the query
    return _changes(ctx, ctx.store.artworks, record["id"])


def s_project(_: Any, info: GraphQLResolveInfo, id: str) -> AsyncIterator[Record]:
    ctx = ctx_of(info)
    record = in_org(ctx, ctx.store.projects, id, "Project")
    return _changes(ctx, ctx.store.projects, record["id"])


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "Subscription": {"artwork": lambda event, info, **_: event, "project": lambda event, info, **_: event},
}

#: Source streams of subscription fields (bound to ``GraphQLField.subscribe``).
SUBSCRIPTIONS: dict[str, dict[str, Resolver]] = {"Subscription": {"artwork": s_artwork, "project": s_project}}
