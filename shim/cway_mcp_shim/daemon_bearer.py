"""The stdio shim's bearer source: the daemon's token for the session's account, asked over the socket.

The rule itself (current token, one forced refresh on a rejection, one retry) is the tool layer's
:class:`cway_tools.Bearer`; this is only where the tokens come from. A tool call whose bearer the
middleware already asked for (:mod:`cway_mcp_shim.bearer_prefetch`) takes that answer instead of
asking again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from cway_contract import fingerprint
from cway_mcp_shim import bearer_prefetch
from cway_mcp_shim.daemon_access import DaemonAccess
from cway_tools import Bearer

log = logging.getLogger(__name__)


class DaemonBearer(Bearer):
    """``AUTH_METHOD=oauth2``: the daemon's bearer for one account (``None``: the daemon picks its only one)."""

    def __init__(self, daemon: DaemonAccess, username: str | None) -> None:
        super().__init__(username)
        self._daemon = daemon
        self.username = username

    async def _current(self) -> str:
        served = await self._daemon.bearer(self.username, prefetched=bearer_prefetch.take(self.username))
        self.account = served.username
        return served.access_token

    async def _refreshed(self, rejected: str, why: str) -> str:
        log.info("Cway refused the token for %s (%s); forcing a token refresh and retrying once", self.account, why)
        served = await self._daemon.force_refresh(self.account, rejected=fingerprint(rejected))
        return served.access_token

    def refused_message(self, where: str, why: str) -> str:
        return (
            f"{where} refused the access token for {self.account} even after refreshing it ({why}). The account "
            "may be disabled in Cway or its sign-in revoked: call the login tool to sign in again."
        )


def daemon_bearers(daemon: DaemonAccess) -> Callable[[str | None], Bearer]:
    """The gateway's bearer source in oauth2 mode: one :class:`DaemonBearer` per request."""

    def bearer_for(username: str | None) -> Bearer:
        return DaemonBearer(daemon, username)

    return bearer_for
