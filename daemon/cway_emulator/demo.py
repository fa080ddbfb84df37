"""``make demo``: the whole product story, end to end, on the embedded emulator.

Everything here is the real thing except Entra and Cway: the real ``cway-auth daemon`` process
on a real owner-only socket, the real ``cway-auth`` CLI, the real ``cway-mcp`` shim spoken to
by the MCP SDK's stdio client. The browser is played over HTTP against the emulator's sign-in
form. Every file lives in a temporary directory that is removed at the end; nothing leaves
loopback. No token is printed: only fingerprints.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from mcp import ClientSession, StdioServerParameters, stdio_client

from cway_contract import DaemonClient, fingerprint
from cway_emulator import EmulatorServer

ALICE = "alice@contoso.example"
BOB = "bob@contoso.example"
INSPECTOR_VERSION = "0.15.0"  # the Makefile installs this version


def step(title: str) -> None:
    print(f"\n\033[1m▶ {title}\033[0m", flush=True)


def say(text: str) -> None:
    for line in text.rstrip().splitlines():
        print(f"  {line}", flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def bin_path(name: str) -> str:
    candidate = Path(sys.executable).with_name(name)
    return str(candidate) if candidate.exists() else name


def demo_env(emu: EmulatorServer, base: Path) -> dict[str, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CWAY_", "AZURE_", "AUTH_"))}
    env.pop("XDG_RUNTIME_DIR", None)
    env.update(emu.env())
    (base / "home").mkdir()
    (base / "config.toml").touch()
    env.update(
        {
            "HOME": str(base / "home"),
            "CWAY_MCP_CONFIG": str(base / "config.toml"),
            "CWAY_MCP_STATE_DIR": str(base / "state"),
            "CWAY_MCP_SOCKET": str(base / "run" / "daemon.sock"),
            "CWAY_MCP_STORE_KEY": Fernet.generate_key().decode(),
            "AZURE_REDIRECT_URI": f"http://localhost:{port}/callback",
            "CWAY_MCP_OPEN_BROWSER": "0",
            "CWAY_MCP_AUTOSTART": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    emu.register_redirect_uri(env["AZURE_REDIRECT_URI"])
    return env


def cli(env: Mapping[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own console script
        [bin_path("cway-auth"), *args], env=dict(env), capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"cway-auth {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


@contextlib.contextmanager
def running_daemon(env: Mapping[str, str], base: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = (base / "daemon.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603 - our own console script
        [bin_path("cway-auth"), "daemon"], env=dict(env), stdout=log, stderr=subprocess.STDOUT
    )
    sock = Path(env["CWAY_MCP_SOCKET"])
    try:
        deadline = time.monotonic() + 20
        while not sock.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the daemon did not start:\n" + (base / "daemon.log").read_text())
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


def sign_in_with_cli(env: Mapping[str, str], emu: EmulatorServer, username: str) -> str:
    """Run ``cway-auth login``, play the browser when it prints the address, return its output."""
    proc = subprocess.Popen(  # noqa: S603 - our own console script
        [bin_path("cway-auth"), "login", username, "--no-browser", "--timeout", "60"],
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:
        lines.append(line.rstrip())
        if line.strip().startswith("http"):
            location = emu.browser_sign_in(line.strip(), username)
            page = httpx.get(location, timeout=30)
            lines.append(f"[browser] {page.status_code} {_title(page.text)}")
            break
    out, err = proc.communicate(timeout=60)
    lines.extend(out.rstrip().splitlines())
    if proc.returncode != 0:
        raise RuntimeError(f"cway-auth login failed: {err.strip()}")
    return "\n".join(_shorten_urls(lines))


def _title(html: str) -> str:
    start, end = html.find("<title>"), html.find("</title>")
    return html[start + 7 : end] if start >= 0 < end else "(no title)"


def _shorten_urls(lines: list[str]) -> list[str]:
    return [line if "http" not in line or len(line) < 100 else line[:96] + " …" for line in lines]


async def token_story(env: Mapping[str, str], emu: EmulatorServer) -> None:
    async with DaemonClient(Path(env["CWAY_MCP_SOCKET"])) as daemon:
        first = await daemon.bearer(ALICE)
        say(f"bearer for {first.username}: {fingerprint(first.access_token)}, expires {first.expires_at:%H:%M:%S} UTC")
        before = emu.counters.get("cway_token_refresh", 0)
        forced = await asyncio.gather(*(daemon.force_refresh(ALICE) for _ in range(1)))
        again = await asyncio.gather(*(daemon.bearer(ALICE) for _ in range(50)))
        say(f"after a forced refresh: {fingerprint(forced[0].access_token)} (rotated refresh token persisted)")
        say(
            f"50 concurrent bearer requests → {len({b.access_token for b in again})} distinct token, "
            f"{emu.counters.get('cway_token_refresh', 0) - before} refresh call(s) at Cway"
        )


@contextlib.asynccontextmanager
async def mcp_session(env: Mapping[str, str], username: str) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """A real MCP client session with a ``cway-mcp`` process acting as ``username``."""
    shim_env = {**env, "CWAY_USERNAME": username, "CWAY_MCP_LOG_LEVEL": "WARNING"}
    params = StdioServerParameters(command=bin_path("cway-mcp"), args=[], env=shim_env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = await session.list_tools()
        say(f"[{username}] cway-mcp offers {len(tools.tools)} tools")

        async def call(name: str, show: Callable[[Any], str] | None = None, **arguments: Any) -> Any:
            result = await session.call_tool(name, arguments)
            data = result.structured_content
            if result.is_error or data is None:
                shown = _text(result.content)
            else:
                shown = show(data) if show else _compact(data)
            say(f"[{username}] {name}({_args(arguments)}) → {'error' if result.is_error else 'ok'}: {shown}")
            return data

        yield call


async def mcp_story(env: Mapping[str, str]) -> None:
    def names(key: str) -> Callable[[Any], str]:
        return lambda data: (
            f"{data.get('total', len(data[key]))} — "
            + ", ".join(f"{item['name']} ({item.get('state', '')})" for item in data[key])
        )

    async with mcp_session(env, ALICE) as alice, mcp_session(env, BOB) as bob:
        await alice("whoami", show=lambda d: f"{d['display_name']}, {d['organisation_name']}")
        await bob("whoami", show=lambda d: f"{d['display_name']}, {d['organisation_name']}")
        await alice("list_projects", show=names("projects"), page_size=5)
        await bob("list_projects", show=names("projects"), page_size=5)
        waiting = await alice("list_artworks_to_approve", show=names("artworks"))
        first = waiting["artworks"][0]
        await bob("get_artwork", artwork_id=first["id"])  # another organisation's artwork: not found
        await alice(
            "approve_artwork",
            show=lambda d: ", ".join(f"{a['name']} is now {a['state']}" for a in d["artworks"]),
            artwork_id=first["id"],
        )
        await alice("list_artworks_to_approve", show=names("artworks"))


def _text(content: list[Any]) -> str:
    return " ".join(getattr(part, "text", "") for part in content)


def _args(arguments: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in arguments.items())


def _compact(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, separators=(",", ":"))
    return text if len(text) <= limit else text[:limit] + " …"


def inspector_story(env: Mapping[str, str]) -> None:
    """MCP Inspector's CLI, installed by ``make demo`` into ``.tools/`` (where npm exists)."""
    inspector = Path.cwd() / ".tools" / "node_modules" / ".bin" / "mcp-inspector"
    if not inspector.exists() or shutil.which("node") is None:
        say(f"skipped: MCP Inspector {INSPECTOR_VERSION} is not installed (make demo installs it where npm exists)")
        return
    cmd = [str(inspector), "--cli", bin_path("cway-mcp"), "--method", "tools/list"]
    client_env = {**env, "CWAY_USERNAME": ALICE, "CWAY_MCP_LOG_LEVEL": "WARNING"}
    try:
        done = subprocess.run(cmd, env=client_env, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        say("skipped: MCP Inspector did not answer within 120 s")
        return
    if done.returncode != 0:
        say(f"skipped: MCP Inspector could not run here ({done.stderr.strip().splitlines()[-1:] or ['?']})")
        return
    try:
        names = [tool["name"] for tool in json.loads(done.stdout)["tools"]]
    except (ValueError, KeyError):
        say("MCP Inspector answered, but not with a tool list")
        return
    say(f"MCP Inspector {INSPECTOR_VERSION} (a third-party client) listed {len(names)} tools: {', '.join(names[:6])} …")


def main() -> int:
    base = Path(tempfile.mkdtemp(prefix="cw-demo-", dir="/tmp"))
    try:
        with EmulatorServer() as emu:
            step("Emulated Entra ID and Cway are up on loopback")
            say(f"IdP (issuer)  {emu.authority}\nCway GraphQL  {emu.cway_api_url}")
            env = demo_env(emu, base)

            with running_daemon(env, base) as proc:
                step(f"cway-auth daemon is running (pid {proc.pid})")
                sock = Path(env["CWAY_MCP_SOCKET"])
                say(
                    f"socket {sock} mode {oct(sock.stat().st_mode & 0o777)}; dir mode {oct(sock.parent.stat().st_mode & 0o777)}"
                )

                step("alice signs in with the CLI; the browser step is played over HTTP")
                say(sign_in_with_cli(env, emu, ALICE))

                step("cway-auth whoami / status (no token is ever printed)")
                say(cli(env, "whoami", ALICE))
                say(cli(env, "status"))

                step("Tokens: served from the daemon, refreshed once however many ask")
                asyncio.run(token_story(env, emu))

                step("bob signs in too: the same daemon, a separate encrypted record")
                say(sign_in_with_cli(env, emu, BOB))

                step("MCP clients: one shim per person, each acting as themselves")
                asyncio.run(mcp_story(env))

                step("A third-party MCP client: MCP Inspector's CLI mode")
                inspector_story(env)

                step("alice signs out")
                say(cli(env, "logout", ALICE))
                say(cli(env, "status"))

            step("Daemon stopped with SIGTERM")
            say(f"exit code {proc.returncode}; socket removed: {not sock.exists()}")
            audit = base / "state" / "audit.log"
            if audit.exists():
                events = [json.loads(line).get("event", "?") for line in audit.read_text().splitlines() if line]
                say(f"audit log: {len(events)} events ({', '.join(sorted(set(events)))})")
            print("\nDemo finished.")
            return 0
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
