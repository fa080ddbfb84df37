"""Strict parsing of the e-mail lists people paste into Cway ("a@x.se, b@y.se; c@z.se").

``createUsersFromEmailString`` and ``createShare`` take such strings. One malformed address
refuses the whole request, naming it: inviting half a list and silently dropping the rest is
what a person would not expect, and Cway would not let a share go to a typo.
"""

from __future__ import annotations

import re

from graphql import GraphQLError

#: At most this many addresses in one request.
MAX_ADDRESSES = 100

_SEPARATORS = re.compile(r"[,;\s]+")
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"{_LOCAL}@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}")


def parse_addresses(texts: list[str], what: str = "emails") -> list[str]:
    """Every address in ``texts`` (split on commas, semicolons and white space), lower-cased,
    deduplicated in order; a ``GraphQLError`` for a malformed one, none at all, or too many."""
    seen: dict[str, None] = {}
    for text in texts:
        for part in _SEPARATORS.split(text):
            if not part:
                continue
            if len(part) > 254 or not _ADDRESS.fullmatch(part):
                raise GraphQLError(f"Invalid e-mail address in {what}: {part!r}")
            seen.setdefault(part.lower(), None)
    if not seen:
        raise GraphQLError(f"No e-mail address given in {what}")
    if len(seen) > MAX_ADDRESSES:
        raise GraphQLError(f"Too many e-mail addresses in {what}: {len(seen)} (at most {MAX_ADDRESSES})")
    return list(seen)
