"""Fixtures for the Cway tool tests: one emulator per module, fresh data and tokens per test,
and a real MCPServer with the tools registered, reached through the SDK's in-process client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from cway_emulator import EmulatorServer
from cway_tools import pending
from cway_tools.lazy_tools import LazyServer
from cway_tools.middleware import install as install_middleware
from cway_tools.registry import register_cway_tools
from tests.shim_tools.static_gateway import StaticTokenGateway

ALICE = "alice@contoso.example"
BOB = "bob@contoso.example"
DAVE = "dave@contoso.example"
ADMIN = "admin@contoso.example"  # a Cway system admin (status, organisations)


def uid(kind: int, n: int) -> str:
    """The emulator's readable fixture ids (see cway_emulator.fixtures.uid)."""
    return f"{kind:08x}-0000-4000-8000-{n:012x}"


def project_id(n: int) -> str:
    return uid(0x0C, n)


def artwork_id(n: int) -> str:
    return uid(0x0D, n)


def folder_id(n: int) -> str:
    return uid(0x0E, n)


def file_id(n: int) -> str:
    return uid(0x0F, n)


def share_id(n: int) -> str:
    return uid(0x1A, n)


@pytest.fixture(autouse=True)
async def _no_job_outlives_its_test() -> AsyncIterator[None]:
    """Every test runs on its own event loop, but the jobs table is the process's (as in the shim:
    one loop, one session, one process). A job left running would stay in it as a task of a
    closed loop, and the next test to start a job under the same handle would find it there."""
    yield
    await pending.JOBS.aclose()


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer() as emu:
        yield emu


@pytest.fixture(scope="module")
def _module_gateway(emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory) -> StaticTokenGateway:
    return StaticTokenGateway(emulator.cway_api_url, {}, default_username=ALICE, home=tmp_path_factory.mktemp("home"))


@pytest.fixture
async def gateway(emulator: EmulatorServer, _module_gateway: StaticTokenGateway) -> AsyncIterator[StaticTokenGateway]:
    """The module's gateway with fresh emulator data, fresh static tokens and no recorded calls; its
    HTTP client is the test's own (closed after it: each test runs on its own event loop)."""
    emulator.reset()
    _module_gateway.tokens = {user: emulator.issue_static_token(user) for user in (ALICE, BOB, DAVE, ADMIN)}
    _module_gateway.calls.clear()
    yield _module_gateway
    await _module_gateway.aclose()


#: id(gateway) -> (gateway, server); holding the gateway keeps its id from being reused.
_servers: dict[int, tuple[StaticTokenGateway, MCPServer]] = {}


def build_server(gateway: StaticTokenGateway) -> MCPServer:
    """One MCPServer per gateway: registering the tools builds ~30 pydantic models, so reuse it."""
    if id(gateway) not in _servers:
        server: MCPServer = LazyServer(name="cway-tools-test")  # as the shim does: built on first use
        register_cway_tools(server, gateway)
        install_middleware(server)
        _servers[id(gateway)] = (gateway, server)
    return _servers[id(gateway)][1]


@asynccontextmanager
async def connected(gateway: StaticTokenGateway) -> AsyncIterator[Client]:
    """An MCP client session to the gateway's server, opened and closed inside the test's task."""
    async with Client(build_server(gateway)) as client:
        yield client
