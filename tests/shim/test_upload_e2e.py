"""Issue 19's "a designer uploads a new revision from a local file and sees it in the artwork's history",
through a spawned shim (the SDK's default environment plus the env block), the real daemon and the
emulator's presigned-PUT storage; and what is refused before a byte leaves the machine."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from cway_emulator.fixtures import ARTWORK_IDS
from cway_emulator.server import EmulatorServer
from tests.helpers.daemon import RunningDaemon
from tests.shim.harness import shim_session, sign_in, text_of

pytestmark = pytest.mark.slow

ALICE = "alice@contoso.example"  # the supplier of "Cereal Box Back" (REJECTED: it waits for a new version)
CEREAL_BACK = ARTWORK_IDS[5]
PDF = b"%PDF-1.7\n" + os.urandom(300_000) + b"\n%%EOF\n"


async def test_a_designer_uploads_a_new_revision_and_sees_it_in_the_history(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon, tmp_path: Path
) -> None:
    local = tmp_path / "cereal-back-v2.pdf"
    local.write_bytes(PDF)
    async with shim_session({**env, "CWAY_USERNAME": ALICE}, trimmed=True) as shim:
        await sign_in(shim, emu, ALICE)
        uploaded = await shim.ok(
            "upload_file",
            {"attach_to": "new_revision", "path": str(local), "artwork_id": CEREAL_BACK, "comment": "bigger logo"},
        )
        history = await shim.ok("get_artwork_history", {"artwork_id": CEREAL_BACK})
    result = uploaded.structured_content or {}
    assert result["size"] == len(PDF) and result["attached_to"] == "new_revision"
    store = emu.emulator.store  # what Cway's storage and database now hold
    stored = store.files[result["file_id"]]
    assert stored["_sha256"] == hashlib.sha256(PDF).hexdigest()  # every byte arrived, unchanged
    assert stored["contentType"] == "application/pdf" and stored["_uploaded_by"] == ALICE
    art = store.artworks[CEREAL_BACK]
    assert art["state"] == "FOR_REVIEW" and art["_revisions"][-1]["comment"] == "bigger logo"
    assert "NEW_REVISION" in text_of(history) and "cereal-back-v2.pdf" in text_of(history)


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda tmp: "/dev/zero", "not a regular file"),
        (lambda tmp: str(tmp), "not a regular file"),
        (lambda tmp: "relative/file.pdf", "full path"),
        (lambda tmp: _link(tmp), "symbolic link"),
        (lambda tmp: _file(tmp, "fake.pdf", b"MZ\x90\x00 not a pdf"), "does not look like a .pdf"),
        (lambda tmp: _file(tmp, "script.sh", b"#!/bin/sh\n"), "not uploaded"),
        (lambda tmp: _fifo(tmp), "not a regular file"),
    ],
)
async def test_what_is_refused_sends_nothing(
    emu: EmulatorServer, env: dict[str, str], daemon: RunningDaemon, tmp_path: Path, make: object, said: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    async with shim_session({**env, "CWAY_USERNAME": ALICE}, trimmed=True) as shim:
        await sign_in(shim, emu, ALICE)
        before = dict(emu.counters)
        refused = await shim.call("upload_file", {"attach_to": "new_revision", "path": path, "artwork_id": CEREAL_BACK})
        after = dict(emu.counters)
    assert refused.is_error and said in text_of(refused), text_of(refused)
    assert after.get("graphql", 0) == before.get("graphql", 0)  # not even the upload URL was asked for
    assert after.get("upload", 0) == before.get("upload", 0)


def _file(tmp: Path, name: str, data: bytes) -> str:
    (tmp / name).write_bytes(data)
    return str(tmp / name)


def _link(tmp: Path) -> str:
    target = Path(_file(tmp, "real.pdf", PDF))
    (tmp / "link.pdf").symlink_to(target)
    return str(tmp / "link.pdf")


def _fifo(tmp: Path) -> str:
    os.mkfifo(tmp / "pipe.pdf")
    return str(tmp / "pipe.pdf")
