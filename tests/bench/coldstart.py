"""Row 4: shim cold start (spawn → ``initialize`` → ``tools/list``) ÷ a bare ``MCPServer`` with one tool.

Both are driven the same way: newline-delimited JSON-RPC over the child's stdin/stdout, the
clock running from ``Popen`` to the ``tools/list`` answer. Runs alternate; best and median of N.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

from tests.bench.common import Row
from tests.helpers.daemon import daemon_env, process_env

RUNS = 9
BARE = """
from mcp.server.mcpserver import MCPServer
server = MCPServer(name="bare")
@server.tool()
def echo(text: str) -> str:
    \"\"\"Echo the text.\"\"\"
    return text
server.run("stdio")
"""

MESSAGES = [
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"},
        },
    },
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
]


def cold_start(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Seconds until ``tools/list`` answers, and how many tools it listed."""
    start = time.perf_counter()
    process = subprocess.Popen(
        argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=env.get("HOME")
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(json.dumps(MESSAGES[0]).encode() + b"\n")
        process.stdin.flush()
        _read_answer(process, 1)
        for message in MESSAGES[1:]:
            process.stdin.write(json.dumps(message).encode() + b"\n")
        process.stdin.flush()
        tools = _read_answer(process, 2)["result"]["tools"]
        return time.perf_counter() - start, len(tools)
    finally:
        process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _read_answer(process: subprocess.Popen[bytes], ident: int) -> dict[str, object]:
    assert process.stdout is not None
    while line := process.stdout.readline():
        message = json.loads(line)
        if message.get("id") == ident:
            return message  # type: ignore[no-any-return]
    raise RuntimeError("the server closed stdout before answering")


def bench_cold_start() -> list[Row]:
    env = daemon_env({"CWAY_USERNAME": "alice@contoso.example", "CWAY_MCP_AUTOSTART": "0"})
    shim_env = process_env(env)
    shim, bare, count = [], [], 0
    for _ in range(RUNS):
        elapsed, count = cold_start([sys.executable, "-m", "cway_mcp_shim"], shim_env)
        shim.append(elapsed)
        bare.append(cold_start([sys.executable, "-c", BARE], shim_env)[0])
    best = min(shim) / min(bare)
    median = statistics.median(shim) / statistics.median(bare)
    return [
        Row(
            "shim cold start ÷ bare MCPServer (spawn → initialize → tools/list)",
            "≤ 1.3×",
            f"{best:.2f}× best, {median:.2f}× median (shim {min(shim) * 1000:.0f} ms best, {count} tools)",
            f"bare MCPServer with one tool: {min(bare) * 1000:.0f} ms best, {statistics.median(bare) * 1000:.0f} ms median",
            best <= 1.3,
        )
    ]
