"""The shim's one door to the daemon: autostart, and daemon errors turned into tool answers.

Every daemon call the shim makes (bearer, forced refresh, sign-in, accounts) goes through
:class:`DaemonAccess`, so that "no daemon", "not signed in", "which account?" and "the IdP is
down" are worded the same way whichever tool ran into them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

from mcp.server.mcpserver.exceptions import ToolError

from cway_contract import (
    UNTRUSTED_SOCKET_ADVICE,
    AccountInfo,
    BearerResponse,
    DaemonClient,
    DaemonError,
    DaemonUnavailable,
    ErrorCode,
    LogoutResponse,
    Settings,
    SignInCompleteRequest,
    SignInStatus,
    UntrustedDaemonSocket,
    daemon_socket,
)
from cway_mcp_shim.autostart import DaemonLauncher
from cway_mcp_shim.signin import raise_sign_in_needed, sign_in_answer, sign_in_shape
from cway_tools import request_scope

log = logging.getLogger(__name__)

T = TypeVar("T")

SIGN_IN_CODES = frozenset({ErrorCode.NOT_SIGNED_IN, ErrorCode.SIGN_IN_REQUIRED})

#: How long the retry of a 2026-07-28 call waits for the sign-in the user accepted (clients time out at 60 s).
SIGN_IN_WAIT_SECONDS = 40.0
#: How often the sign-in's state is asked while waiting for it.
SIGN_IN_POLL_SECONDS = 0.5
#: How long a 2025-11-25 session watches a sign-in to send notifications/elicitation/complete.
SIGN_IN_WATCH_SECONDS = 600.0


class DaemonAccess:
    """Wraps :class:`DaemonClient` with autostart and with the mapping of its errors to ``ToolError``."""

    def __init__(
        self, settings: Settings, client: DaemonClient | None = None, launcher: DaemonLauncher | None = None
    ) -> None:
        self.settings = settings
        self.client = client or DaemonClient(daemon_socket(settings), timeout=settings.http_timeout_seconds)
        self.launcher = launcher or DaemonLauncher(settings, self.client)
        self._watched: dict[str, asyncio.Task[None]] = {}

    async def aclose(self) -> None:
        for task in self._watched.values():
            task.cancel()
        await self.client.aclose()

    # -- the calls the shim makes ---------------------------------------------------------------

    async def bearer(
        self, username: str | None, *, prefetched: Awaitable[BearerResponse] | None = None
    ) -> BearerResponse:
        """``prefetched``: the same request sent earlier (:mod:`bearer_prefetch`), used as the first attempt."""
        early = prefetched

        async def ask(client: DaemonClient) -> BearerResponse:
            nonlocal early
            if early is not None:
                answer, early = early, None
                return await answer
            return await client.bearer(username)

        return await self.call(ask, username=username)

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
            if err.body.error not in SIGN_IN_CODES or not await self._waited_for_accepted_sign_in():
                await self.raise_for(err, username)
        try:  # the sign-in the user accepted (2026-07-28 retry) finished: run the call once more
            return await op(self.client)
        except DaemonError as again:
            await self.raise_for(again, username)

    async def _recover(self, exc: DaemonUnavailable) -> None:
        if isinstance(exc, UntrustedDaemonSocket):  # a daemon may well be running there: never start another
            raise ToolError(f"The cway-auth daemon's socket was refused: {exc}; {UNTRUSTED_SOCKET_ADVICE}.")
        # A daemon that answers health but not our call had a hiccup: retrying a call that may have
        # reached it (a pasted authorization code, a logout) is not safe, so report instead.
        if await self.launcher.answers():
            raise ToolError(f"The cway-auth daemon did not answer this request: {exc}")
        if await self._follow_recorded_daemon():
            return
        try:
            await self.launcher.ensure_running(exc)
        except ToolError:
            # The daemon we started may have lost the state-dir lock to one that started meanwhile
            # (and recorded its socket): use that one rather than report a failure.
            if await self._follow_recorded_daemon():
                return
            raise

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
        if body.error is ErrorCode.BACKEND_UNAVAILABLE:
            await request_scope.notify_log(
                "warning", f"Cway token refresh failed: {body.message}", event="refresh_failed", username=username
            )
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
        if body.error is ErrorCode.CONFIGURATION_ERROR:  # the message names the AADSTS code; a sign-in cannot help
            raise ToolError(f"Cway sign-in is misconfigured on this machine: {body.message}")
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
                url, flow_id = status.sign_in_url or status.authorization_url, status.flow_id
        who = username or "the default account"
        await request_scope.notify_log(
            "warning",
            f"Cway sign-in needed for {who}" + (f": {reason.rstrip('.')}" if reason else ""),
            event="sign_in_needed",
            username=username,
        )
        if flow_id and sign_in_shape(url, flow_id) == "url_error":
            self._watch_sign_in(flow_id)
        raise_sign_in_needed(
            url, username=username, reason=reason, flow_id=flow_id, callback_uri=self.settings.redirect.uri
        )

    # -- waiting for a sign-in --------------------------------------------------------------------

    async def _waited_for_accepted_sign_in(self) -> bool:
        """On the retry of a 2026-07-28 call whose sign-in the user accepted: wait for it to finish.

        True when it completed (the caller retries once); False when there was no accepted answer,
        or the sign-in failed, expired or was not finished within :data:`SIGN_IN_WAIT_SECONDS`
        (the caller then answers with the text, never with the question again).
        """
        answer = sign_in_answer()
        if answer is None or answer.action != "accept" or not answer.flow_id:
            return False
        deadline = time.monotonic() + SIGN_IN_WAIT_SECONDS
        while True:
            status = await self._flow_state(answer.flow_id)
            if status is None or status.state != "pending":
                break
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            waited = SIGN_IN_WAIT_SECONDS - left
            await request_scope.report_progress(waited, SIGN_IN_WAIT_SECONDS, "Waiting for the Cway sign-in")
            await asyncio.sleep(min(SIGN_IN_POLL_SECONDS, left))
        if status is None or status.state != "completed":
            return False
        await _signed_in(status.username or answer.username)
        return True

    async def _flow_state(self, flow_id: str) -> Any:
        try:
            return await self.client.sign_in_status(flow_id)
        except (DaemonError, DaemonUnavailable) as exc:
            log.info("sign-in %s could not be followed: %s", flow_id, exc)
            return None

    def _watch_sign_in(self, flow_id: str) -> None:
        """2025-11-25: send ``notifications/elicitation/complete`` once the sign-in behind -32042 finishes.

        The task inherits the request's context, so the notification goes to the same session.
        """
        if flow_id in self._watched and not self._watched[flow_id].done():
            return
        ctx = request_scope.current()
        if ctx is None:
            return

        async def watch() -> None:
            deadline = time.monotonic() + SIGN_IN_WATCH_SECONDS
            while time.monotonic() < deadline:
                status = await self._flow_state(flow_id)
                if status is None or status.state in ("failed", "expired"):
                    return
                if status.state == "completed":
                    await _signed_in(status.username, after_request=True)
                    try:
                        await ctx.session.send_elicit_complete(flow_id)
                    except Exception as exc:  # the client may have gone: nothing to tell
                        log.info("elicitation/complete for %s not sent: %s", flow_id, exc)
                    return
                await asyncio.sleep(SIGN_IN_POLL_SECONDS * 2)

        self._watched[flow_id] = asyncio.get_running_loop().create_task(watch())


async def _signed_in(username: str | None, *, after_request: bool = False) -> None:
    await request_scope.notify_log(
        "info",
        f"Cway sign-in completed for {username or 'the account'}",
        event="signed_in",
        after_request=after_request,
        username=username,
    )
