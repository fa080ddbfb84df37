"""Errors the daemon core raises, and the internal failure kinds its backends report.

``CoreError`` is the only exception the facade (:mod:`cway_authd.core`) lets escape: it carries a
stable :class:`~cway_contract.contract.ErrorCode`, an HTTP status suggestion for the control API,
and hints (a sign-in URL, the known accounts). Its message is written for a person and never
contains a token, an authorization code or a URL that could carry one.

The ``Backend*`` exceptions are how the token/identity clients tell the refresh engine *what
kind* of failure happened, because that decides what happens to the user's tokens:

* ``BackendTransient``: retry with backoff, keep serving the old access token while it lasts;
* ``BackendFatal``: the refresh token is dead (``invalid_grant``, 401, expired): sign in again;
* ``BackendRejected``: the backend refused the request for a reason that retrying will not fix
  but that is not the user's fault either: keep the tokens;
* ``BackendMisconfigured`` (a ``BackendRejected``): the application's registration or settings are
  wrong (``invalid_client``, AADSTS7000215 …): keep the tokens, tell the administrator
  (:mod:`cway_auth_core.entra_errors` decides which class a refusal is).
"""

from __future__ import annotations

from cway_contract import ErrorBody, ErrorCode


class CoreError(Exception):
    """A failure the control API turns into an ``ErrorBody`` with ``status``."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        status: int = 400,
        username: str | None = None,
        sign_in_url: str | None = None,
        flow_id: str | None = None,
        accounts: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.username = username
        self.sign_in_url = sign_in_url
        self.flow_id = flow_id
        self.accounts = accounts

    def to_body(self) -> ErrorBody:
        return ErrorBody(
            error=self.code,
            message=self.message,
            username=self.username,
            sign_in_url=self.sign_in_url,
            flow_id=self.flow_id,
            accounts=self.accounts,
        )

    def __repr__(self) -> str:
        return f"CoreError({self.code.value!r}, {self.message!r}, status={self.status})"


class BackendError(Exception):
    """A call to the IdP or to Cway failed; ``str(exc)`` is a clean, secret-free message."""


class BackendTransient(BackendError):
    """Worth retrying later (connect error, timeout, 5xx, 429, 408)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BackendFatal(BackendError):
    """The grant is dead: the user has to sign in again."""


class BackendRejected(BackendError):
    """Refused for a reason retrying will not fix (bad request, misconfiguration, odd answer)."""


class BackendMisconfigured(BackendRejected):
    """The administrator's configuration was refused; ``code`` is e.g. ``AADSTS7000215``. Tokens are kept."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code
