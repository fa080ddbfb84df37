"""The shim's one door to the daemon: autostart, and daemon errors turned into tool answers.

Every daemon call the shim makes (bearer, forced refresh, sign-in, accounts) goes through
:class:`DaemonAccess`, so that "no daemon", "not signed in", "which account?" and "the IdP is
down" are worded the same way whichever tool ran into them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

from mcp.server.mcpserver.exceptions import ToolError

from cway_common.config import Settings
from cway_common.contract import (
    AccountInfo,
    BearerResponse,
    ErrorCode,
    LogoutResponse,
    SignInCompleteRequest,
    SignInStatus,
)
from cway_common.daemon_client import DaemonClient, DaemonError, DaemonUnavailable
from cway_common.discovery import daemon_socket
from cway_mcp_shim.autostart import DaemonLauncher
from cway_mcp_shim.signin import raise_sign_in_needed

log = logging.getLogger(__name__)

T = TypeVar("T")

SIGN_IN_CODES = frozenset({ErrorCode.NOT_SIGNED_IN, ErrorCode.SIGN_IN_REQUIRED})


class DaemonAccess:
    """Wraps :class:`DaemonClient` with autostart and with the mapping of its errors to ``ToolError``."""

    def __init__(
        self, settings: Settings, client: DaemonClient | None = None, launcher: DaemonLauncher | None = None
    ) -> None:
        self.settings = settings
        self.client = client or DaemonClient(daemon_socket(settings), timeout=settings.http_timeout_seconds)
        self.launcher = launcher or DaemonLauncher(settings, self.client)

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- the calls the shim makes ---------------------------------------------------------------

    async def bearer(self, username: str | None) -> BearerResponse:
        return await self.call(lambda c: c.bearer(username), username=username)

    async def force_refresh(self, username: str | None, *, rejected: str | None = None) -> BearerResponse:
        return await self.call(lambda c: c.force_refresh(username, rejected=rejected), username=username)

    async def start_sign_in(self, username: str | None) -> SignInStatus:
        return await self.call(lambda c: c.start_sign_in(username), username=username)

    async def complete_sign_in(self, request: SignInCompleteRequest) -> SignInStatus:
        return await self.call(lambda c: c.complete_sign_in(request), username=None)

    async def logout(self, username: str) -> LogoutResponse:
        """Raises :class:`DaemonError` unmapped: "not signed in" is an answer here."""
        return await self.call(lambda c: c.logout(username), username=username, raw_errors=True)

    async def account(self, username: str) -> AccountInfo:
        return await self.call(lambda c: c.account(username), username=username)

    async def accounts(self) -> list[AccountInfo]:
        return await self.call(lambda c: c.accounts(), username=None)

    # -- the machinery ------------------------------------------------------------------------

    async def call(
        self, op: Callable[[DaemonClient], Awaitable[T]], *, username: str | None, raw_errors: bool = False
    ) -> T:
        """Run ``op`` against the daemon, starting the daemon first if it is not there.

        With ``raw_errors`` a :class:`DaemonError` reaches the caller unchanged, for the few
        callers (logout) for which "not signed in" is an answer rather than a reason to sign in.
        """
        try:
            try:
                return await op(self.client)
            except DaemonUnavailable as exc:
                await self._recover(exc)
                try:
                    return await op(self.client)
                except DaemonUnavailable as again:
                    raise ToolError(f"The cway-auth daemon stopped answering: {again}") from None
        except DaemonError as err:
            if raw_errors:
                raise
            await self.raise_for(err, username)

    async def _recover(self, exc: DaemonUnavailable) -> None:
        # A daemon that answers health but not our call had a hiccup: retrying a call that may have
        # reached it (a pasted authorization code, a logout) is not safe, so report instead.
        if await self.launcher.answers():
            raise ToolError(f"The cway-auth daemon did not answer this request: {exc}")
        if await self._follow_recorded_daemon():
            return
        await self.launcher.ensure_running(exc)

    async def _follow_recorded_daemon(self) -> bool:
        """Switch to the daemon that holds the state-dir lock when it listens elsewhere (see discovery)."""
        found = daemon_socket(self.settings)
        if found == self.client.socket_path:
            return False
        old, self.client = self.client, DaemonClient(found, timeout=self.settings.http_timeout_seconds)
        self.launcher.client = self.client
        await old.aclose()
        log.info("using the running daemon's socket %s", found)
        return await self.launcher.answers()

    async def raise_for(self, err: DaemonError, username: str | None) -> NoReturn:
        """Turn a daemon error body into the answer the model should see."""
        body = err.body
        if body.error in SIGN_IN_CODES:
            await self.raise_sign_in(
                body.username or username, reason=body.message, url=body.sign_in_url, flow_id=body.flow_id
            )
        if body.error is ErrorCode.UNKNOWN_ACCOUNT:
            accounts = body.accounts or []
            if not accounts:
                await self.raise_sign_in(username, reason="no Cway account is signed in on this machine", url=None)
            raise ToolError(
                f"Several Cway accounts are signed in ({', '.join(accounts)}) and this request did not say which "
                'to use: pass username="..." to the tool, or set CWAY_USERNAME in this MCP server\'s environment.'
            )
        if body.error is ErrorCode.SIGN_IN_FAILED:
            raise ToolError(f"Sign-in failed: {body.message.rstrip('.')}. Call the login tool for a new sign-in URL.")
        if body.error is ErrorCode.BACKEND_UNAVAILABLE:
            raise ToolError(f"Cway's sign-in service is unavailable right now ({body.message}); try again shortly.")
        raise ToolError(f"The cway-auth daemon refused the request ({body.error.value}): {body.message}")

    async def raise_sign_in(
        self, username: str | None, *, reason: str | None, url: str | None, flow_id: str | None = None
    ) -> NoReturn:
        """Explain how to sign in, starting a sign-in at the daemon when the error carried no URL."""
        if not url:
            try:
                status = await self.client.start_sign_in(username)
            except (DaemonError, DaemonUnavailable) as exc:
                log.warning("could not start a sign-in for %s: %s", username or "(any account)", exc)
            else:
                url, flow_id = status.authorization_url, status.flow_id
        raise_sign_in_needed(
            url, username=username, reason=reason, flow_id=flow_id, callback_uri=self.settings.redirect.uri
        )
