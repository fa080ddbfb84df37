"""AI jobs: ``artworkAIAnalysis`` / ``projectHistorySummary`` and the ``aiQueryResult`` subscription.

Real Cway answers both queries with a *thread id* at once and streams the text later over the
``aiQueryResult(threadId)`` subscription. The emulator does the same, so a client that treats
the thread id as the answer (or never subscribes) fails here as it would against Cway. The
"AI" text is derived from the emulator's own data (state, people, history), deterministic, and
clearly marked as emulated.

Timing follows the emulator clock: a job is ready ``ai_seconds`` after it was started, so on a
``ManualClock`` it finishes when the test advances the clock (or never, if it does not). Until
then the subscription sends a progress message (``status: null``) every tick. Threads belong to
the user who started them: anyone else's thread id is "not found", like any other object.
A subscriber who arrives after the job finished still gets the final message (real Cway's
behaviour here is unknown; replaying is the forgiving choice and keeps clients simple).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from graphql import GraphQLResolveInfo

from cway_emulator.fixtures import Record
from cway_emulator.gql_context import Ctx, Resolver, ctx_of, in_org, not_found, require, thread_id
from cway_emulator.knobs import Knobs
from cway_emulator.resolvers_projects import project_artworks

#: Real seconds between two progress messages of a running job.
TICK_SECONDS = 0.1
FAILURE_TEXT = "The AI service could not complete this request (emulated failure)."


def _start(ctx: Ctx, knobs: Knobs, kind: str, target: Record, text: str) -> str:
    """Register a new thread (a new one per call, as the real service starts a new job)."""
    with ctx.store.lock:
        tid = thread_id(kind, target["id"], str(len(ctx.store.ai_threads) + 1))
        ctx.store.ai_threads[tid] = {
            "threadId": tid,
            "_owner": ctx.username,
            "_ready": ctx.clock.now() + timedelta(seconds=knobs.ai_seconds),
            "_failed": knobs.ai_result == "failed",
            "_text": text,
        }
    return tid


def _events(ctx: Ctx, target_id: str) -> list[Record]:
    return sorted(ctx.store.events.get(target_id, []), key=lambda e: e["timestamp"])


def artwork_analysis_text(ctx: Ctx, art: Record) -> str:
    events = _events(ctx, art["id"])
    latest = events[-1]["description"] if events else "none"
    verdict = {
        "FOR_REVIEW": "It is waiting for an approval decision by " + ", ".join(art["_approvers"]) + ".",
        "COMMENTED": "It has comments to resolve before a decision.",
        "REJECTED": "It was rejected; the supplier should upload a new revision.",
        "UNSTARTED": "Nothing has been uploaded yet; the supplier is " + ", ".join(art["_suppliers"]) + ".",
    }.get(art["state"], "No action is needed.")
    return (
        f"[emulated AI analysis] {art['name']} in project {art['projectName']} is {art['state']}. "
        f"{verdict} History: {len(events)} event(s), latest: {latest}. Due {art.get('endDate') or 'n/a'}."
    )


def project_history_text(ctx: Ctx, project: Record) -> str:
    events = _events(ctx, project["id"])
    arts = project_artworks(ctx, project)
    by_state: dict[str, int] = {}
    for a in arts:
        by_state[a["state"]] = by_state.get(a["state"], 0) + 1
    states = ", ".join(f"{n} {s}" for s, n in sorted(by_state.items())) or "no artworks"
    recent = "; ".join(e["description"] for e in events[-3:]) or "no events"
    return (
        f"[emulated AI history summary] {project['name']} ({project['orderNo']}) is {project['state']}. "
        f"{len(events)} history event(s); most recent: {recent}. Artworks: {states}."
    )


def q_artwork_ai_analysis(_: Any, info: GraphQLResolveInfo, artworkId: str) -> str:
    ctx = ctx_of(info)
    art = in_org(ctx, ctx.store.artworks, artworkId, "Artwork")
    return _start(ctx, ctx.knobs, "analysis", art, artwork_analysis_text(ctx, art))


def q_project_history_summary(_: Any, info: GraphQLResolveInfo, projectId: str) -> str:
    ctx = ctx_of(info)
    require(ctx, "canSeeProjectHistory")
    project = in_org(ctx, ctx.store.projects, projectId, "Project")
    return _start(ctx, ctx.knobs, "history", project, project_history_text(ctx, project))


def _message(thread: Record, final: bool) -> Record:
    if not final:
        return {"threadId": thread["threadId"], "status": None, "result": None, "error": None}
    if thread["_failed"]:
        return {"threadId": thread["threadId"], "status": "FAILED", "result": None, "error": FAILURE_TEXT}
    return {"threadId": thread["threadId"], "status": "COMPLETED", "result": thread["_text"], "error": None}


def s_ai_query_result(_: Any, info: GraphQLResolveInfo, threadId: str) -> AsyncIterator[Record]:
    """Check access now (so a foreign thread is an error, not an empty stream), then stream."""
    ctx = ctx_of(info)
    with ctx.store.lock:
        thread = ctx.store.ai_threads.get(threadId)
    if thread is None or thread["_owner"] != ctx.username:
        raise not_found("Thread", threadId)
    return _stream(ctx, thread)


async def _stream(ctx: Ctx, thread: Record) -> AsyncIterator[Record]:
    while ctx.clock.now() < thread["_ready"]:
        yield _message(thread, final=False)
        await asyncio.sleep(TICK_SECONDS)
    yield _message(thread, final=True)


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "Query": {
        "artworkAIAnalysis": q_artwork_ai_analysis,
        "projectHistorySummary": q_project_history_summary,
    },
    # The event *is* the field's value.
    "Subscription": {"aiQueryResult": lambda event, info, **_: event},
}

#: Source streams of subscription fields (bound to ``GraphQLField.subscribe``).
SUBSCRIPTIONS: dict[str, dict[str, Resolver]] = {
    "Subscription": {"aiQueryResult": s_ai_query_result},
}
