"""``DaemonCore``: the one facade the control API, the callback listener and the CLI call.

It owns the process-wide pieces (httpx client, clock, token store, audit log, scheduler) and
composes the parts: :mod:`sign_in_service` (flows and code redemption), :mod:`refresh_engine`
(bearer, single-flight refresh, schedule, backoff), :mod:`accounts` (in-memory view),
:mod:`account_resolution` (which account a request means) and :mod:`store_lifecycle` (opening the
store; crash and full-disk recovery at start-up, the save at shutdown).
Everything it raises is a :class:`~cway_auth_core.errors.CoreError`; only access tokens leave it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx

from cway_auth_core import AdminProblems, ClaimFailure, CwaySession, CwayTokenClient, OidcClient, build_http_client
from cway_authd.account_loader import AccountLoader
from cway_authd.account_resolution import AccountResolver
from cway_authd.accounts import AccountBook
from cway_authd.audit import AuditLog
from cway_authd.control.peercred import PeerCredentials
from cway_authd.errors import CoreError
from cway_authd.refresh.engine import RefreshEngine, RetryPolicy
from cway_authd.shutdown_budget import ShutdownBudget, ShutdownClock
from cway_authd.sign_in.needed import SignInNeededList
from cway_authd.sign_in.service import CallbackOutcome, SignInService
from cway_authd.store import FileTokenStore, KeyMaterial, StoreLock, TokenStore, ensure_private_dir, normalise_username
from cway_authd.store.journal import RefreshJournal
from cway_authd.store.key_service import StoreKeyService
from cway_authd.store.lifecycle import StoreLifecycle, open_file_store
from cway_contract import (
    SYSTEM_CLOCK,
    AccountInfo,
    BearerResponse,
    Clock,
    ConfigProblem,
    ErrorCode,
    HealthResponse,
    KeyRotationResponse,
    LogoutResponse,
    Settings,
    SignInCompleteRequest,
    SignInStatus,
    __version__,
    fingerprint,
)

__all__ = ["CallbackOutcome", "CoreError", "DaemonCore", "RetryPolicy"]

log = logging.getLogger(__name__)


class DaemonCore:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock = SYSTEM_CLOCK,
        store: TokenStore | None = None,
        http: httpx.AsyncClient | None = None,
        key_source: str | None = None,
        key_material: KeyMaterial | None = None,
        audit: AuditLog | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._started_at = clock.now()
        self._audit = audit if audit is not None else AuditLog(settings.state_dir, clock)
        if store is None:
            store, key_material = open_file_store(settings, clock, self._audit)
        self.store = store
        self._key_material = key_material
        self.lost_at_shutdown: list[str] = []  # accounts whose refreshed tokens no disk would take
        self.key_source = key_source or (key_material.source if key_material is not None else "unknown")
        self.store_key = StoreKeyService(store, key_material, self._audit, self.storage_backend)
        self._owns_http = http is None
        self.http = http if http is not None else build_http_client(settings)
        self.oidc = OidcClient(settings, self.http, clock)
        self.cway = CwayTokenClient(settings, self.http, clock)
        self.problems = AdminProblems()
        self.session = CwaySession(
            settings=settings, clock=clock, oidc=self.oidc, cway=self.cway, problems=self.problems
        )
        self.book = AccountBook()
        self.engine = RefreshEngine(
            clock=clock,
            store=store,
            book=self.book,
            refresher=self.session.refresh,
            audit=self._audit,
            threshold_seconds=settings.refresh_threshold_seconds,
            policy=retry,
            concurrency=settings.refresh_concurrency,
            journal=(
                RefreshJournal(store.directory, key_material)
                if isinstance(store, FileTokenStore) and key_material is not None
                else None
            ),
            sign_in_needed=SignInNeededList(settings.state_dir) if isinstance(store, FileTokenStore) else None,
        )
        self.loader = AccountLoader(store, self.book, on_loaded=self.engine.schedule)
        self.resolver = AccountResolver(self.book, self.loader, settings.state_dir)
        self.sign_in = SignInService(
            settings=settings,
            clock=clock,
            http=self.http,
            oidc=self.oidc,
            session=self.session,
            engine=self.engine,
            audit=self._audit,
        )
        self._lifecycle = StoreLifecycle(
            settings=settings, clock=clock, store=store, book=self.book, engine=self.engine, key_material=key_material
        )
        self._store_lock: StoreLock | None = None
        self._startup: asyncio.Task[int] | None = None
        self.shutdown_budget = ShutdownBudget.for_settings(settings)
        self._shutdown: ShutdownClock | None = None

    @classmethod
    async def open(
        cls, settings: Settings, *, clock: Clock = SYSTEM_CLOCK, retry: RetryPolicy | None = None
    ) -> DaemonCore:
        """Lock the state dir (one daemon per dir), resolve the key, open store and audit log."""
        ensure_private_dir(settings.state_dir)
        lock = StoreLock(settings.state_dir).acquire()
        try:
            audit = AuditLog(settings.state_dir, clock)
            store, material = await asyncio.to_thread(open_file_store, settings, clock, audit)
            core = cls(
                settings,
                clock=clock,
                store=store,
                key_source=material.source,
                key_material=material,
                audit=audit,
                retry=retry,
            )
        except BaseException:
            lock.release()
            raise
        core._store_lock = lock
        return core

    # ---- lifecycle ---------------------------------------------------------------------------

    async def start(self, *, load_when: asyncio.Event | None = None) -> None:
        """Start the scheduler; load every account and refresh the ones already due in the background.

        Returns at once, so the socket answers while thousands of records are still being read
        (``account_loader.py`` says what waits for the loading and what does not). The runner passes
        ``load_when``, set once its listeners accept connections: the bulk read would otherwise compete
        with the servers' own start for the interpreter.
        """
        await self._lifecycle.recover()  # before anything reads the store
        self.engine.load_sign_in_needed()  # before the loader: a tombstone is never overwritten by it
        self.engine.start_scheduler()
        self._startup = asyncio.create_task(self._load_then_refresh_due(load_when))

    async def _load_then_refresh_due(self, load_when: asyncio.Event | None) -> int:
        loaded = await self.loader.start(load_when)
        log.info("loaded %d account(s) from %s", loaded, self.storage_backend)
        return await self.engine.run_due()

    async def wait_started(self) -> None:
        """Wait for the start-up refreshes (the runner does not: it serves while they run)."""
        if self._startup is not None:
            await asyncio.shield(self._startup)

    async def begin_shutdown(self) -> ShutdownClock:
        """SIGTERM: start the stop's clock (``CWAY_STOP_TIMEOUT_SECONDS``) and put every unsaved account
        into the rescue store at once, before in-flight requests are waited for."""
        if self._shutdown is None:
            self._shutdown = self.shutdown_budget.start()
            await self._lifecycle.rescue_now(self._shutdown.save_until)
        return self._shutdown

    async def stop(self) -> None:
        clock = await self.begin_shutdown()
        await self.store_key.drain()
        if self._startup is not None and not self._startup.done():
            self._startup.cancel()
            await asyncio.gather(self._startup, return_exceptions=True)
        await self.engine.stop(grace_seconds=clock.drain_left())
        self.lost_at_shutdown = await self._lifecycle.save_at_shutdown(clock.save_until)
        log.info(
            "stopped in %.1f s of the %.0f s stop timeout; %d account(s) could not be kept",
            clock.elapsed(),
            self.shutdown_budget.stop_timeout,
            len(self.lost_at_shutdown),
        )
        if self._owns_http:
            await self.http.aclose()
        self.sign_in.close()
        self._audit.close()
        if self._store_lock is not None:
            self._store_lock.release()
            self._store_lock = None

    # ---- read-only views -----------------------------------------------------------------------

    @property
    def storage_backend(self) -> str:
        directory = getattr(self.store, "directory", None)
        return f"files:{directory}" if isinstance(directory, Path) else type(self.store).__name__

    async def health(self, socket_path: str) -> HealthResponse:
        ok, needing = self.book.counts()
        return HealthResponse(
            version=__version__,
            pid=os.getpid(),
            uptime_seconds=max(0.0, (self.clock.now() - self._started_at).total_seconds()),
            storage_backend=self.storage_backend,
            key_source=self.key_source,
            socket_path=socket_path,
            callback_url=self.settings.redirect.uri,
            auth_flow=self.settings.auth_flow,
            accounts=ok,
            accounts_needing_sign_in=needing,
            pending_sign_ins=self.sign_in.flows.pending_count(),
            loading_accounts=self.loader.loading,
            store_problems=list(getattr(self.store, "problems", [])),
            authority=self.settings.azure_authority,
            exchange_token=self.settings.cway_exchange_token if self.settings.auth_flow == "cway" else None,
            silent_reexchange=self.settings.silent_reexchange,
            last_exchange=self.cway.last_exchange,
            config_problem=_config_problem(self.problems),
        )

    async def list_accounts(self) -> list[AccountInfo]:
        await self.loader.wait()  # the whole list, not the part loaded so far
        now = self.clock.now()
        return [
            entry.info(now, self.engine.next_refresh_at(normalise_username(entry.username)))
            for entry in self.book.entries()
        ]

    async def account(self, username: str) -> AccountInfo:
        entry = self.book.get(await self.resolver.known_key(username))
        if entry is None:
            raise CoreError(ErrorCode.NOT_SIGNED_IN, f"{username} is not signed in", status=404, username=username)
        return entry.info(self.clock.now(), self.engine.next_refresh_at(self.resolver.key(username)))

    # ---- tokens ----------------------------------------------------------------------------------

    async def bearer(self, username: str | None, peer: PeerCredentials) -> BearerResponse:
        return await self._bearer(username, peer, force=False)

    async def force_refresh(
        self, username: str | None, peer: PeerCredentials, *, rejected: str | None = None
    ) -> BearerResponse:
        """Refresh now, because Cway refused a token. ``rejected`` (its fingerprint) lets callers that saw an
        older token get the current one instead of refreshing once each."""
        return await self._bearer(username, peer, force=True, rejected=rejected)

    async def _bearer(
        self, username: str | None, peer: PeerCredentials, *, force: bool, rejected: str | None = None
    ) -> BearerResponse:
        try:
            key = await self.resolver.resolve(username)
        except CoreError as exc:
            raise await self._with_sign_in_hint(exc) from None
        if self.book.get(key) is None:
            async with self.store.lock(key):  # a logout holds it too: it cannot be undone by this read
                record = None if self.book.get(key) is not None else await self.store.load(key)
                if record is not None:  # on disk but not in memory (written while we ran): adopt it
                    self.book.put_record(record)
                    self.engine.schedule(record)
            if self.book.get(key) is None and username is not None:
                key = await self.resolver.known_key(username)  # an e-mail alias is known once every record is loaded
            if self.book.get(key) is None:
                shown = username or key
                raise await self._with_sign_in_hint(
                    CoreError(ErrorCode.NOT_SIGNED_IN, f"{shown} is not signed in", status=401, username=shown)
                )
        try:
            record = await self.engine.current(key, force=force, rejected=rejected)
        except CoreError as exc:
            raise await self._with_sign_in_hint(exc) from None
        self._audit.event(
            "token_issued",
            account=record.username,
            peer_pid=peer.pid,
            peer_uid=peer.uid,
            token_fingerprint=fingerprint(record.access_token),
            forced=force,
        )
        return BearerResponse(
            username=record.username,
            access_token=record.access_token,
            token_type=record.token_type,
            expires_at=record.access_expires_at,
        )

    async def _with_sign_in_hint(self, exc: CoreError) -> CoreError:
        """Attach the URL of a (new or pending) sign-in for this account when signing in is the fix."""
        if exc.code not in (ErrorCode.NOT_SIGNED_IN, ErrorCode.SIGN_IN_REQUIRED) or exc.sign_in_url:
            return exc
        try:
            flow = await self.sign_in.start(exc.username)
        except CoreError as start_error:
            log.info("no sign-in URL for the error hint: %s", start_error.message)
            return exc
        exc.sign_in_url = flow.link_url or flow.authorization_url  # the short link: no e-mail address in it
        exc.flow_id = flow.flow_id
        return exc

    # ---- sign-in ---------------------------------------------------------------------------------

    async def start_sign_in(self, username: str | None) -> SignInStatus:
        return (await self.sign_in.start(username)).to_status()

    def sign_in_status(self, flow_id: str) -> SignInStatus:
        flow = self.sign_in.flows.get(flow_id)
        if flow is None:
            raise CoreError(ErrorCode.NOT_FOUND, "no such sign-in (it may have finished long ago)", status=404)
        return flow.to_status()

    async def handle_callback(self, params: Mapping[str, str]) -> CallbackOutcome:
        _flow, _failure, outcome = await self.sign_in.complete(params)
        return outcome

    async def complete_sign_in(self, request: SignInCompleteRequest) -> SignInStatus:
        if request.redirect_url:
            parts = urlsplit(request.redirect_url.strip())
            params = dict(parse_qsl(parts.fragment)) | dict(parse_qsl(parts.query))
        elif request.code and request.state:
            params = {"code": request.code, "state": request.state}
        else:
            raise CoreError(ErrorCode.BAD_REQUEST, "give the redirect URL, or both code and state", status=400)
        flow, failure, outcome = await self.sign_in.complete(params)
        if failure is ClaimFailure.UNKNOWN:
            raise CoreError(ErrorCode.NOT_FOUND, outcome.message, status=404)
        if failure is not None or flow is None:
            raise CoreError(ErrorCode.BAD_REQUEST, outcome.message, status=400, flow_id=flow.flow_id if flow else None)
        return flow.to_status()

    # ---- logout ----------------------------------------------------------------------------------

    async def logout(self, username: str) -> LogoutResponse:
        key = await self.resolver.known_key(username)
        self.loader.forget(key)  # a record the start-up loading already read must not come back
        cancelled = self.sign_in.flows.cancel_for(key)
        removed, record = await self.engine.remove(key)
        try:
            await self._lifecycle.forget(key)
        except OSError as exc:
            log.error("could not remove %s from the rescue location: %s", key, exc.strerror or type(exc).__name__)
        revoked: bool | None = None
        if record is not None and self.settings.auth_flow == "direct":
            # Only the IdP's own refresh token goes to the IdP. In the cway flow the refresh token is
            # Cway's: it never leaves for anywhere but Cway's token endpoint (Cway offers no revocation).
            revoked = await self.oidc.revoke(record.refresh_token)
        elif record is not None and record.idp_refresh_token:  # kept for a silent re-exchange: Entra's own
            revoked = await self.oidc.revoke(record.idp_refresh_token)
        shown = record.username if record is not None else username
        self._audit.event("logout", account=shown, removed=removed, revoked=revoked, cancelled_sign_ins=cancelled)
        if not removed:
            message = f"{shown} was not signed in."
        elif revoked is None:
            idp_held = self.settings.auth_flow == "direct" or (record is not None and record.idp_refresh_token)
            who = "the identity provider" if idp_held else "Cway"
            message = f"Signed out {shown}; tokens deleted ({who} offers no revocation)."
        elif revoked:
            message = f"Signed out {shown}; tokens deleted and the refresh token revoked."
        else:
            message = f"Signed out {shown}; tokens deleted, but revoking the refresh token failed."
        return LogoutResponse(username=shown, removed=removed or cancelled > 0, revoked=revoked, message=message)

    # ---- store key -------------------------------------------------------------------------------

    async def rotate_store_key(self, peer: PeerCredentials) -> KeyRotationResponse:
        return await self.store_key.rotate(peer)


def _config_problem(problems: AdminProblems) -> ConfigProblem | None:
    latest = problems.latest
    if latest is None:
        return None
    return ConfigProblem(
        code=latest.code,
        message=latest.message,
        first_seen=latest.first_seen,
        last_seen=latest.last_seen,
        count=latest.count,
    )
