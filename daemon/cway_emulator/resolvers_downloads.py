"""Zip download jobs and the ``download`` subscription that announces them.

Cway's schema says ``createDownloadJob`` returns "a job ID for download from file service" and
offers no query for a job; the only thing that reports downloads is the ``download``
subscription (``DownloadEvent {username, fileId, shareId}``), which names no job. The emulator
models the reading the shim relies on, and no more:

* a job takes ``download_seconds`` (knob, emulator clock) and then yields a zip *file* in the
  caller's organisation, readable with ``file`` and ``tempFileDownloadUrl`` like any other;
* when it is ready, every ``download`` subscription of the *same user* that was open when the
  job finished gets ``{username, fileId: <the zip>, shareId: null}``. A subscriber who arrives
  later gets nothing (no replay): a client that starts the job before listening can miss it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from cway_emulator.fixtures import Record
from cway_emulator.gql_context import Ctx, Resolver, ctx_of, in_org

#: Real seconds between two looks at the jobs of a subscriber.
TICK_SECONDS = 0.05


def _selected_files(ctx: Ctx, selections: list[Record]) -> list[Record]:
    found: list[Record] = []
    for sel in selections:
        if sel["type"] == "FILE":
            if not sel.get("fileId"):
                raise GraphQLError(f"Selection {sel['name']!r} of type FILE needs a fileId")
            found.append(in_org(ctx, ctx.store.files, sel["fileId"], "File"))
        else:
            found.extend(_selected_files(ctx, sel.get("children") or []))
    return found


def m_create_download_job(
    _: Any,
    info: GraphQLResolveInfo,
    selections: list[Record],
    zipName: str | None = None,
    forceZipFile: bool | None = None,
) -> str:
    ctx = ctx_of(info)
    files = _selected_files(ctx, selections)
    if not files:
        raise GraphQLError("Nothing to download: the selections contain no files")
    job_id, zip_id = str(uuid.uuid4()), str(uuid.uuid4())
    name = (zipName or "cway-download").strip() or "cway-download"
    with ctx.store.lock:
        ctx.store.files[zip_id] = {
            "id": zip_id,
            "name": name if name.endswith(".zip") else f"{name}.zip",
            "size": sum(int(f["size"]) for f in files),
            "fullSize": sum(int(f["size"]) for f in files),
            "contentType": "application/zip",
            "created": ctx.now_ms(),
            "isVideo": False,
            "barcodeStatus": "NONE",
            "_folder": None,
            "_org": ctx.org_id,
        }
        ctx.store.downloads[job_id] = {
            "id": job_id,
            "_owner": ctx.username,
            "_file": zip_id,
            "_ready": ctx.clock.now() + timedelta(seconds=ctx.knobs.download_seconds),
        }
    return job_id


def s_download(_: Any, info: GraphQLResolveInfo) -> AsyncIterator[Record]:
    return _announce(ctx_of(info))


async def _announce(ctx: Ctx) -> AsyncIterator[Record]:
    opened = ctx.clock.now()
    told: set[str] = set()
    while True:
        now = ctx.clock.now()
        with ctx.store.lock:
            ready = [
                job
                for job in ctx.store.downloads.values()
                if job["_owner"] == ctx.username and opened <= job["_ready"] <= now and job["id"] not in told
            ]
        for job in sorted(ready, key=lambda j: j["_ready"]):
            told.add(job["id"])
            yield {"username": ctx.username, "fileId": job["_file"], "shareId": None}
        await asyncio.sleep(TICK_SECONDS)


RESOLVERS: dict[str, dict[str, Resolver]] = {
    "Mutation": {"createDownloadJob": m_create_download_job},
    "Subscription": {"download": lambda event, info, **_: event},
}

#: Source streams of subscription fields (bound to ``GraphQLField.subscribe``).
SUBSCRIPTIONS: dict[str, dict[str, Resolver]] = {"Subscription": {"download": s_download}}
