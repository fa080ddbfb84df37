"""The client side of the Unix-socket contract, used by the shim and by ``cway-auth``.

It speaks only :mod:`cway_contract.contract`. The request bodies are built unvalidated
(``model_construct``): the daemon is the one judge of a request (a blank username gets its 400
``bad_request``, worded once, there), and the bearer hop skips a validation it would repeat. Like ssh with an agent socket, it trusts only a
socket served by our own uid: a socket planted by another user must not be able to hand us
tokens or receive a pasted authorization code. A cheap ``lstat`` before connecting gives clear
messages; the check that counts runs on every new connection *after* ``connect()`` and before a
byte is sent (:func:`cway_contract.socket_trust.verify_daemon_socket`), so a swap in between is caught.
"""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from pydantic import BaseModel, ValidationError

from cway_contract.contract import (
    AccountInfo,
    AccountsResponse,
    BearerResponse,
    ErrorBody,
    ErrorCode,
    HealthResponse,
    KeyRotationResponse,
    LogoutResponse,
    Route,
    SignInCompleteRequest,
    SignInStartRequest,
    SignInStatus,
    TokenRequest,
)
from cway_contract.path_advice import unusable_path
from cway_contract.socket_http import SocketHttpError, SocketHttpTimeout, UnixHttpClient
from cway_contract.socket_trust import UntrustedSocket, verify_daemon_socket

M = TypeVar("M", bound=BaseModel)

# Sent as the Host header only: the connection goes to the socket. It names the peer in the daemon's logs.
SOCKET_HOST = "cway-authd"


class DaemonError(Exception):
    """The daemon answered with an error body (see ``ErrorCode``)."""

    def __init__(self, body: ErrorBody, status: int) -> None:
        self.body = body
        self.status = status
        super().__init__(body.message)

    @property
    def code(self) -> ErrorCode:
        return self.body.error


class DaemonUnavailable(Exception):
    """No daemon answers on the socket (not started, crashed, or the socket is not ours)."""


class UntrustedDaemonSocket(DaemonUnavailable):
    """There is a socket, perhaps with a daemon behind it, but this client refuses it: nothing was sent.

    Starting a daemon cannot help (one may well be running there, and a new one refuses to serve
    where no client would trust it): the socket's path or a directory above it must change. Callers
    that would otherwise start a daemon or advise starting one say :data:`UNTRUSTED_SOCKET_ADVICE`.
    """


UNTRUSTED_SOCKET_ADVICE = (
    "nothing was sent to it, and starting a daemon will not help (one may be running there): "
    "fix the socket path or the directory named above, then restart the daemon"
)


def check_socket_owner(path: Path) -> None:
    """Refuse a socket that is not a socket or is owned by someone else."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        raise DaemonUnavailable(f"no daemon socket at {path}") from None
    except PermissionError as exc:  # under someone else's directory: say whose, and what to do
        raise DaemonUnavailable(unusable_path(path, exc)) from None
    if not stat.S_ISSOCK(st.st_mode):
        raise DaemonUnavailable(f"{path} is not a socket")
    if st.st_uid != os.geteuid():
        raise UntrustedDaemonSocket(f"refusing {path}: owned by uid {st.st_uid}, not by you (uid {os.geteuid()})")


class DaemonClient:
    """One per process; kept-alive connections to the daemon's socket (:mod:`cway_contract.socket_http`).

    Creating one opens nothing: the first request connects, and every new connection is checked
    (:meth:`_check_connection`) before a byte is sent.
    """

    def __init__(self, socket_path: Path, *, timeout: float = 30.0) -> None:
        self.socket_path = socket_path
        self._http = UnixHttpClient(
            socket_path,
            timeout=timeout,
            before_connect=self._check_socket_file,
            on_connect=self._check_connection,
            host=SOCKET_HOST,
        )

    def _check_socket_file(self) -> None:
        """The cheap ``lstat`` before connecting: clear messages for the common mistakes."""
        check_socket_owner(self.socket_path)

    def _check_connection(self, sock: socket.socket) -> None:
        """The check that counts, on the connection actually held, before a byte is sent."""
        try:
            verify_daemon_socket(sock, self.socket_path)
        except UntrustedSocket as exc:
            raise UntrustedDaemonSocket(str(exc)) from None

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> DaemonClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def health(self) -> HealthResponse:
        return await self._call("GET", Route.HEALTH, HealthResponse)

    async def accounts(self) -> list[AccountInfo]:
        return (await self._call("GET", Route.ACCOUNTS, AccountsResponse)).accounts

    async def account(self, username: str) -> AccountInfo:
        return await self._call("GET", _account_path(username), AccountInfo)

    async def bearer(self, username: str | None, *, on_sent: Callable[[], None] | None = None) -> BearerResponse:
        """``on_sent``: called once the request is on its way (the shim's early request waits for that only)."""
        return await self._call(
            "POST", Route.TOKEN, BearerResponse, TokenRequest.model_construct(username=username), on_sent
        )

    async def force_refresh(self, username: str | None, *, rejected: str | None = None) -> BearerResponse:
        """After a 401: ``rejected`` is the fingerprint of the refused token, so N callers cause one refresh."""
        request = TokenRequest.model_construct(username=username, rejected=rejected)
        return await self._call("POST", Route.TOKEN_REFRESH, BearerResponse, request)

    async def start_sign_in(self, username: str | None) -> SignInStatus:
        request = SignInStartRequest.model_construct(username=username)
        return await self._call("POST", Route.SIGN_IN, SignInStatus, request)

    async def sign_in_status(self, flow_id: str) -> SignInStatus:
        return await self._call("GET", Route.SIGN_IN_STATUS.format(flow_id=quote(flow_id, safe="")), SignInStatus)

    async def complete_sign_in(self, request: SignInCompleteRequest) -> SignInStatus:
        return await self._call("POST", Route.SIGN_IN_COMPLETE, SignInStatus, request)

    async def logout(self, username: str) -> LogoutResponse:
        return await self._call("DELETE", _account_path(username), LogoutResponse)

    async def rotate_store_key(self) -> KeyRotationResponse:
        """Re-encrypt the daemon's token store under a new key; the answer holds counts, never a key."""
        return await self._call("POST", Route.STORE_ROTATE_KEY, KeyRotationResponse)

    async def _call(
        self,
        method: str,
        path: str,
        model: type[M],
        body: BaseModel | None = None,
        on_sent: Callable[[], None] | None = None,
    ) -> M:
        payload = body.model_dump_json(exclude_none=True).encode() if body is not None else None
        try:
            response = await self._http.request(method, path, payload, on_sent=on_sent)
        except SocketHttpTimeout:
            raise DaemonUnavailable(f"the daemon at {self.socket_path} did not answer in time") from None
        except SocketHttpError as exc:
            # Connect, read and write failures alike (a daemon that resets the connection, e.g. one
            # whose peer check refuses us, or that dies mid-answer): "no daemon answers", never a bare error.
            raise DaemonUnavailable(f"the daemon at {self.socket_path} does not answer ({exc})") from None
        if response.is_success:
            try:
                return model.model_validate_json(response.body)
            except ValidationError:
                raise DaemonUnavailable(f"the daemon sent an answer this client does not understand ({path})") from None
        try:
            error = ErrorBody.model_validate_json(response.body)
        except ValidationError:
            error = ErrorBody(error=ErrorCode.INTERNAL, message=f"daemon answered HTTP {response.status}")
        raise DaemonError(error, response.status)


def _account_path(username: str) -> str:
    return f"{Route.ACCOUNTS}/{quote(username, safe='')}"
