"""The shim's Cway gateway with the remote server's bearer source.

Every tool call acts as the user the MCP access token belongs to: the subject the SDK's bearer
middleware put in the request context. A tool's ``username`` argument may only name that same
user (an assistant cannot act as someone else by passing a name). The bearer comes from the
cross-replica refresher; the rule is the shim's own (:mod:`cway_tools.bearer`): on a
rejection one forced refresh (fingerprint-based single flight) and one retry.
"""

from __future__ import annotations

import logging

import httpx
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel

from cway_auth_core import normalise_username
from cway_contract import Settings, fingerprint
from cway_remote.pg_store import PgTokenStore, account_key
from cway_remote.refresh import CwayUnavailable, RemoteRefresher, SessionEnded
from cway_tools import Bearer, CwayHttpGateway, read_only

log = logging.getLogger(__name__)

SIGN_IN_AGAIN = (
    "Your Cway session on this server has ended. Disconnect and reconnect this server in your assistant "
    "to sign in again."
)


def current_subject(username: str | None) -> str:
    """The account key of the authenticated user; refuses a ``username`` naming anyone else."""
    token = get_access_token()
    if token is None or not token.subject:
        raise ToolError("This server needs a signed-in user: connect with OAuth.")
    if username is not None and username.strip():
        try:
            asked = account_key(normalise_username(username))
        except ValueError:
            asked = ""
        if asked != token.subject:
            raise ToolError("On this server every call acts as the signed-in user; leave `username` out.")
    return token.subject


class RemoteBearer(Bearer):
    """The shim's bearer rule (:mod:`cway_tools.bearer`) with the request user's token from the refresher."""

    def __init__(self, refresher: RemoteRefresher, key: str) -> None:
        super().__init__(None)
        self._refresher = refresher
        self._key = key

    async def _current(self) -> str:
        try:
            record = await self._refresher.bearer(self._key)
        except SessionEnded:
            raise ToolError(SIGN_IN_AGAIN) from None
        except CwayUnavailable as exc:
            raise ToolError(str(exc)) from None
        self.account = record.username
        return record.access_token

    async def _refreshed(self, rejected: str, why: str) -> str:
        try:
            record = await self._refresher.force(self._key, fingerprint(rejected))
        except SessionEnded:
            raise ToolError(SIGN_IN_AGAIN) from None
        except CwayUnavailable as exc:
            raise ToolError(str(exc)) from None
        return record.access_token

    def refused_message(self, where: str, why: str) -> str:
        return f"{where} refused the access token for {self.account} even after refreshing it ({why}). {SIGN_IN_AGAIN}"


class RemoteGateway(CwayHttpGateway):
    """``CwayHttpGateway`` whose bearer is the signed-in MCP user's, from PostgreSQL."""

    needs_bearer_source = False
    accepts_local_paths = False  # the server's disk is not the person's: upload tools take content

    def __init__(
        self, settings: Settings, refresher: RemoteRefresher, *, http: httpx.AsyncClient | None = None
    ) -> None:
        super().__init__(settings, None, http=http)
        self._refresher = refresher

    def bearer_for(self, username: str | None) -> Bearer:
        return RemoteBearer(self._refresher, current_subject(username))


class Me(BaseModel):
    """Who this server acts as for the caller."""

    username: str
    display_name: str | None
    organisation: str | None
    session_expires_at: str | None


def register_whoami(server: MCPServer, store: PgTokenStore) -> None:
    @server.tool(title="Who am I", annotations=read_only())
    async def whoami() -> Me:
        """The Cway user this server acts as for you (the one who signed in), and their organisation."""
        record = await store.load_key(current_subject(None))
        if record is None:
            raise ToolError(SIGN_IN_AGAIN)
        expires = record.refresh_expires_at
        return Me(
            username=record.username,
            display_name=record.display_name,
            organisation=record.organisation_name,
            session_expires_at=expires.isoformat() if expires else None,
        )
