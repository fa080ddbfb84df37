"""The ``tools/list`` size in ``o200k_base`` tokens: what the tool list costs a model on every turn.

Measured on the result a client receives (the SDK's client, in process, against the shim's own
server built from settings), serialized as on the wire (aliases, no nulls). ``bpe-openai`` ships
the encoding in its wheel; tiktoken would download it, which these machines cannot.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from tests.bench.common import Row

GOAL_TOKENS = 8_000


def count_tokens(listing: Any) -> int:
    """Tokens of a ``ListToolsResult`` as JSON on the wire."""
    import bpe_openai

    wire = json.dumps(listing.model_dump(mode="json", by_alias=True, exclude_none=True))
    return len(bpe_openai.get_encoding("o200k_base").encode(wire))


async def measure(env: dict[str, str]) -> tuple[int, int]:
    """(tools, tokens) of the shim's ``tools/list`` with these extra settings."""
    from mcp import Client

    from cway_contract.config import load_settings
    from cway_mcp_shim.server import build_server

    with tempfile.TemporaryDirectory() as base:
        config = Path(base) / "config.toml"
        config.touch()
        values = {
            "AUTH_METHOD": "static",
            "CWAY_API_TOKEN": "bench-token",
            "CWAY_MCP_CONFIG": str(config),
            "CWAY_MCP_STATE_DIR": str(Path(base) / "state"),
            **env,
        }
        server = build_server(load_settings(values, component="shim", cwd=Path(base)))
        async with Client(server, mode="legacy") as client:
            listing = await client.list_tools()
    return len(listing.tools), count_tokens(listing)


def bench_tokens() -> list[Row]:
    default_tools, default_tokens = asyncio.run(measure({}))
    all_tools, all_tokens = asyncio.run(measure({"CWAY_TOOLSETS": "all"}))
    ro_tools, ro_tokens = asyncio.run(measure({"CWAY_READ_ONLY": "1"}))
    return [
        Row(
            "tools/list size, default toolsets (o200k_base tokens)",
            f"<= {GOAL_TOKENS} tokens, <= 30 tools",
            f"{default_tokens} tokens, {default_tools} tools",
            f"all toolsets: {all_tokens} tokens, {all_tools} tools; default read-only: {ro_tokens} tokens, "
            f"{ro_tools} tools",
            default_tokens <= GOAL_TOKENS and default_tools <= 30,
        )
    ]
