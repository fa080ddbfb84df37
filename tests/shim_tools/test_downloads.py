"""Downloads end to end against the emulator: one file's URL at once; a zip followed from its job
to a URL over the ``download`` subscription (listened to before the job is created), with
progress, and a handle when Cway is slower than the bound."""

from __future__ import annotations

import pytest
from mcp import Client

from cway_emulator import EmulatorServer
from cway_tools import pending
from tests.shim_tools.conftest import build_server, connected, file_id
from tests.shim_tools.static_gateway import StaticTokenGateway

LOGOS = [{"file_id": file_id(1), "name": "logo.svg"}, {"file_id": file_id(2), "name": "guide.pdf"}]


async def test_a_zip_comes_back_as_a_url(gateway: StaticTokenGateway, emulator: EmulatorServer) -> None:
    seen: list[str | None] = []

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(message)

    async with Client(build_server(gateway)) as client:
        result = await client.call_tool(
            "create_download_job", {"files": LOGOS, "zip_name": "brand"}, progress_callback=progress
        )
    out = result.structured_content or {}
    assert not result.is_error and out["status"] == "COMPLETED", out
    assert out["zip"]["name"] == "brand.zip" and out["zip"]["size_bytes"] == 12_345 + 2_345_678
    assert out["url"].startswith(emulator.cway_base_url) and out["zip"]["id"] in out["url"]
    names = [c.name for c in gateway.calls]
    assert names.index("DownloadEvents") < names.index("CreateDownloadJob")  # listening before the job exists
    assert names[-2:] == ["File", "TempFileDownloadUrl"]
    assert seen and set(seen) == {"Cway is preparing the zip"}


async def test_a_slow_zip_gives_a_handle_that_collects_the_url(
    gateway: StaticTokenGateway, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pending, "WAIT_SECONDS", 0.3)
    emulator.knobs.update({"download_seconds": 1.0})
    async with connected(gateway) as client:
        first = (await client.call_tool("create_download_job", {"files": LOGOS})).structured_content or {}
        assert first["status"] == "IN_PROGRESS" and first["handle"] == f"download:{first['job_id']}"
        assert "url" not in first and "get_pending_result" in first["note"]
        monkeypatch.setattr(pending, "WAIT_SECONDS", 30.0)
        later = await client.call_tool("get_pending_result", {"handle": first["handle"]})
    got = later.structured_content or {}
    assert not later.is_error and got["status"] == "COMPLETED" and got["kind"] == "download"
    assert got["url"].startswith(emulator.cway_base_url) and ".zip" in got["url"]


async def test_someone_elses_files_are_not_zipped(gateway: StaticTokenGateway) -> None:
    async with connected(gateway) as client:
        result = await client.call_tool("create_download_job", {"files": [{"file_id": file_id(3), "name": "x"}]})
    assert result.is_error and "not found" in result.content[0].text  # type: ignore[union-attr]
