"""Which account a request means: a user name, an e-mail alias, "the only one", or the default.

Kept apart from ``core.py`` because every entry point (bearer, whoami, logout) needs the same
answer, including the subtle parts: an alias is only known once the start-up loading has read
every record, and "no name given" must never pick an account when several are signed in.
"""

from __future__ import annotations

from pathlib import Path

from cway_authd.account_loader import AccountLoader
from cway_authd.accounts import AccountBook
from cway_authd.errors import CoreError
from cway_authd.store import normalise_username
from cway_contract import ErrorCode, read_default

MAX_ACCOUNTS_SHOWN = 20  # in an "unknown account" error: enough to choose from, never the whole book


class AccountResolver:
    """Turns what a caller said into the account book's key; raises :class:`CoreError` when it cannot."""

    def __init__(self, book: AccountBook, loader: AccountLoader, state_dir: Path) -> None:
        self.book = book
        self.loader = loader
        self._state_dir = state_dir

    def key(self, username: str) -> str:
        """Normalised key; a known account's e-mail address also finds it (an index look-up, never a walk)."""
        try:
            key = normalise_username(username)
        except ValueError:
            raise CoreError(ErrorCode.BAD_REQUEST, "username is empty", status=400) from None
        if self.book.get(key) is None:
            return self.book.key_for_email(key) or key
        return key

    async def known_key(self, username: str) -> str:
        """:meth:`key`, waiting for the start-up loading when the book does not know the name yet."""
        key = self.key(username)
        if self.book.get(key) is None and self.loader.loading:
            await self.loader.wait()
            key = self.key(username)
        return key

    async def resolve(self, username: str | None) -> str:
        """The named account, else the only one, else the default (``cway-auth switch``), else an error."""
        if username is not None:
            return self.key(username)
        await self.loader.wait()  # "the only account" needs every account loaded
        count = len(self.book)
        if count == 1:
            return self.book.first_keys(1)[0]
        if not count:
            raise CoreError(ErrorCode.NOT_SIGNED_IN, "no account is signed in to the daemon", status=401)
        default = read_default(self._state_dir)  # `cway-auth switch`; a one-line local file
        if default is not None and self.book.get(normalise_username(default)) is not None:
            return normalise_username(default)
        shown = sorted(self.book.username_of(k) for k in self.book.first_keys(MAX_ACCOUNTS_SHOWN))
        more = f" ({MAX_ACCOUNTS_SHOWN} of them listed)" if count > MAX_ACCOUNTS_SHOWN else ""
        raise CoreError(
            ErrorCode.UNKNOWN_ACCOUNT,
            f"{count} accounts are signed in; say which one (CWAY_USERNAME){more}",
            status=409,
            accounts=shown,
        )
