"""The mutable world of one emulator instance: directory, Cway data and revocation state.

Both emulated services read it, so "revoke alice" is one operation that both honour: the IdP
refuses her refresh tokens (AADSTS50173) and Cway refuses her tokens (invalid_grant / 401).
Revocation is a per-user *generation*: every grant remembers the generation it was issued
under, and a revocation bumps it. That matches a password reset (old grants die, a fresh
sign-in works) without depending on clock resolution.
"""

from __future__ import annotations

import threading
from typing import Any

from cway_emulator.fixtures import Record, seed


class DataStore:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.generations: dict[str, int] = {}
        self.reset()

    def reset(self, *, keep_grants: bool = False) -> None:
        """Fresh seed data; ``keep_grants`` keeps every user's grant generation, so tokens
        already issued stay valid (a test can restore the business data between steps)."""
        data: dict[str, Any] = seed()
        with self.lock:
            self.directory: dict[str, Record] = data["directory"]
            self.users: dict[str, Record] = data["users"]
            self.orgs: dict[str, Record] = data["orgs"]
            self.projects: dict[str, Record] = data["projects"]
            self.artworks: dict[str, Record] = data["artworks"]
            self.events: dict[str, list[Record]] = data["events"]
            self.folders: dict[str, Record] = data["folders"]
            self.files: dict[str, Record] = data["files"]
            self.mc_artworks: dict[str, Record] = data["mc_artworks"]
            self.shares: dict[str, Record] = data["shares"]
            #: User teams; ``_members`` maps user id -> whether that member is a team admin.
            self.teams: dict[str, Record] = data["teams"]
            #: The catalogue: brands, markets, article categories, articles, print specifications.
            self.brands: dict[str, Record] = data["brands"]
            self.markets: dict[str, Record] = data["markets"]
            self.article_categories: dict[str, Record] = data["article_categories"]
            self.articles: dict[str, Record] = data["articles"]
            self.print_specs: dict[str, Record] = data["print_specs"]
            #: AI jobs started by ``artworkAIAnalysis`` / ``projectHistorySummary``, by thread id.
            self.ai_threads: dict[str, Record] = {}
            #: Reminders sent with ``remindApprover`` (the emulator sends no e-mail; tests read these).
            self.reminders: list[Record] = []
            #: Download jobs (``createDownloadJob``), by job id.
            self.downloads: dict[str, Record] = {}
            #: Presigned uploads handed out by ``tempFileUploadUrl``, by file id (resolvers_uploads.py).
            self.uploads: dict[str, Record] = {}
            if not keep_grants:
                self.generations = {}

    # --- identity -----------------------------------------------------------------------
    def directory_user(self, upn: str | None) -> Record | None:
        return self.directory.get((upn or "").strip().lower())

    def cway_user(self, username: str | None) -> Record | None:
        return self.users.get((username or "").strip().lower())

    def cway_user_by_id(self, user_id: str) -> Record | None:
        return next((u for u in self.users.values() if u["id"] == user_id), None)

    def generation(self, username: str) -> int:
        with self.lock:
            return self.generations.get(username.lower(), 0)

    def revoke(self, username: str) -> None:
        """Kill every grant the user holds now (IdP and Cway); later sign-ins work again."""
        with self.lock:
            key = username.lower()
            self.generations[key] = self.generations.get(key, 0) + 1
