"""The one exception the daemon's facade lets escape, and how the control API words it.

``CoreError`` is the only exception the facade (:mod:`cway_authd.core`) lets escape: it carries a
stable :class:`~cway_contract.contract.ErrorCode`, an HTTP status suggestion for the control API,
and hints (a sign-in URL, the known accounts). Its message is written for a person and never
contains a token, an authorization code or a URL that could carry one. (The failure kinds of the
upstream clients, ``Backend*``, are the auth core's: :mod:`cway_auth_core.errors`.)
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
