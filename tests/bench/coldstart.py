"""Row 4: shim cold start (spawn → ``initialize`` → ``tools/list``) ÷ a bare ``MCPServer`` with one tool.

Both are driven the same way: newline-delimited JSON-RPC over the child's stdin/stdout, the
clock running from ``Popen`` to the ``tools/list`` answer. Runs alternate; medians of N, in wall
time (the goal) and in the CPU time the server used by then (what a saturated machine cannot blur).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from typing import Any

from tests.bench.common import Row, cpu_seconds
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


def cold_start(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds until ``tools/list`` answers, CPU seconds the server spent by then, how many tools it listed."""
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
        return time.perf_counter() - start, cpu_seconds(process.pid), len(tools)
    finally:
        process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _read_answer(process: subprocess.Popen[bytes], ident: int) -> dict[str, Any]:
    assert process.stdout is not None
    while line := process.stdout.readline():
        message: dict[str, Any] = json.loads(line)
        if message.get("id") == ident:
            return message
    raise RuntimeError("the server closed stdout before answering")


def bench_cold_start() -> list[Row]:
    env = daemon_env({"CWAY_USERNAME": "alice@contoso.example", "CWAY_MCP_AUTOSTART": "0"})
    shim_env = process_env(env)
    shim: list[tuple[float, float]] = []
    bare: list[tuple[float, float]] = []
    count = 0
    for _ in range(RUNS):
        wall, cpu, count = cold_start([sys.executable, "-m", "cway_mcp_shim"], shim_env)
        shim.append((wall, cpu))
        wall, cpu, _ = cold_start([sys.executable, "-c", BARE], shim_env)
        bare.append((wall, cpu))
    wall_ratio = statistics.median(w for w, _ in shim) / statistics.median(w for w, _ in bare)
    cpu_ratio = statistics.median(c for _, c in shim) / statistics.median(c for _, c in bare)
    shim_ms = statistics.median(w for w, _ in shim) * 1000
    bare_ms = statistics.median(w for w, _ in bare) * 1000
    return [
        Row(
            "shim cold start ÷ bare MCPServer (spawn → initialize → tools/list)",
            "≤ 1.3×",
            f"{wall_ratio:.2f}× wall, {cpu_ratio:.2f}× CPU (medians of {RUNS}; shim {shim_ms:.0f} ms, "
            f"{statistics.median(c for _, c in shim) * 1000:.0f} ms CPU, {count} tools)",
            f"bare MCPServer with one tool: {bare_ms:.0f} ms, {statistics.median(c for _, c in bare) * 1000:.0f} ms CPU",
            wall_ratio <= 1.3,
        )
    ]
