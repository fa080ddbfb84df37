"""Which audit fields are written and which are refused: one rule for the daemon and the remote server.

Callers pass only fields that are safe to record; this is the second line of defence. A field whose
*name* contains a secret-looking word (``token``, ``code``, ``secret``, ``verifier``, ``password``,
``nonce``, ``state``, ``key``) is written as a marker instead of its value, unless the name is one of
:data:`ALLOWED_FIELDS`: names that contain such a word but hold no secret, and that one of the two
audits really writes:

* ``token_fingerprint``: a truncated SHA-256 of a token (``cway_contract.redact.fingerprint``), for
  correlating lines; both audits write it.
* ``token_type``: ``"Bearer"``; the daemon (``bearer_issued``) and the remote server
  (``token_issued``) write it.
* ``flow_id``: the daemon's handle for a pending sign-in (not its OAuth ``state``, nonce or verifier,
  which never leave the flow); the daemon writes it.
* ``account_key``: the first 12 characters of the remote server's account key, itself a hash of the
  username; the remote server writes it.

The allow-list is the union of what the two write, because each entry is non-secret whichever
process writes it; the daemon's former ``sign_in_state`` entry is gone: nothing writes it, and a name
ending in ``state`` is exactly where an OAuth ``state`` could slip through one day.
"""

from __future__ import annotations

import functools
from typing import Any

FORBIDDEN_WORDS = ("token", "code", "secret", "verifier", "password", "nonce", "state", "key")
ALLOWED_FIELDS = frozenset({"token_fingerprint", "token_type", "flow_id", "account_key"})
REFUSED = "<refused: looks secret>"


@functools.lru_cache(maxsize=256)
def looks_secret(name: str) -> bool:
    """Whether a field called ``name`` must not be written (case-insensitive)."""
    lowered = name.lower()
    return lowered not in ALLOWED_FIELDS and any(word in lowered for word in FORBIDDEN_WORDS)


def redact_fields(entry: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """Add ``fields`` to ``entry`` (None values left out), a secret-looking one as :data:`REFUSED`."""
    for name, value in fields.items():
        if value is None:
            continue
        entry[name] = REFUSED if looks_secret(name) else value
    return entry
