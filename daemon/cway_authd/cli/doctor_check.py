"""One line of ``cway-auth doctor``'s report, shared by the modules that run the checks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    ok: bool
    what: str
    detail: str
    fix: str | None = None
    warn: bool = False  # works, but worth changing: printed with "!" and its fix; not counted as a problem
