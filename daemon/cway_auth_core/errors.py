"""The failure kinds the Entra and Cway clients report, shared by the daemon and the remote server.

The ``Backend*`` exceptions are how the token/identity clients tell a refresher *what
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
