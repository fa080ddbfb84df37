"""Deterministic seed data: the directory (Entra users) and the Cway organisations' content.

Ids are fixed and readable (``0000000c-0000-4000-8000-000000000001`` is project 1) so tests
and humans can refer to them. Two Cway organisations never share anything: alice (Contoso
Print) must never see bob's (Fabrikam Packaging) projects. carol exists in Entra but not in
Cway, to exercise the "signed in but unknown to Cway" path.

Records are plain dicts shaped like the GraphQL types (camelCase); keys starting with ``_``
are internal relations the resolvers follow.
"""

from __future__ import annotations

import copy
from typing import Any

Record = dict[str, Any]


def uid(kind: int, n: int) -> str:
    """Readable deterministic UUID: the first group says what it is, the last which one."""
    return f"{kind:08x}-0000-4000-8000-{n:012x}"


ORG, USER, PROJECT, ARTWORK, FOLDER, FILE, SHARE, MC_ARTWORK, CATEGORY = (
    0x0A,
    0x0B,
    0x0C,
    0x0D,
    0x0E,
    0x0F,
    0x1A,
    0x1B,
    0x1C,
)

ALICE = "alice@contoso.example"
BOB = "bob@contoso.example"
CAROL = "carol@contoso.example"
DAVE = "dave@contoso.example"
ADMIN = "admin@contoso.example"
ERIN = "erin@contoso.example"  # works for both organisations (an agency's account manager)

ORG_CONTOSO = uid(ORG, 1)
ORG_FABRIKAM = uid(ORG, 2)

#: Seeded static API tokens (backward-compatible mode): token -> username.
STATIC_TOKENS: dict[str, str] = {
    "cway-static-alice-0001": ALICE,
    "cway-static-bob-0001": BOB,
}

# (username, first, last, oid-number, cway org or None, system admin)
_PEOPLE: list[tuple[str, str, str, int, str | None, bool]] = [
    (ALICE, "Alice", "Andersson", 1, ORG_CONTOSO, False),
    (BOB, "Bob", "Berg", 2, ORG_FABRIKAM, False),
    (CAROL, "Carol", "Carlsson", 3, None, False),
    (DAVE, "Dave", "Dahl", 4, ORG_CONTOSO, False),
    (ADMIN, "Ada", "Admin", 5, ORG_CONTOSO, True),
    (ERIN, "Erin", "Ek", 6, ORG_CONTOSO, False),
]
#: Memberships beyond the first organisation (which is where a sign-in lands).
_MORE_ORGS: dict[str, list[str]] = {ERIN: [ORG_FABRIKAM]}

DEFAULT_USER = ALICE


def directory_users() -> dict[str, Record]:
    """Entra directory entries keyed by lower-case UPN (the IdP side)."""
    return {
        upn: {
            "oid": f"{0xE1:08x}-1111-4111-8111-{n:012x}",
            "upn": upn,
            "mail": upn,
            "givenName": first,
            "surname": last,
            "displayName": f"{first} {last}",
        }
        for upn, first, last, n, _org, _admin in _PEOPLE
    }


def _permissions(admin: bool) -> Record:
    return {
        "canImpersonate": admin,
        "userAdministration": admin,
        "organisationUserAdministration": admin,
        "canCreateTopFolder": True,
        "canSeeOtherProjects": True,
        "canCreateProject": True,
        "canUseProjectManager": True,
        "canCreateShare": True,
        "canSeeProjectHistory": True,
        "canSearchUsers": True,
        "canChangeOrganisationBaseData": admin,
        "isSystemAdmin": admin,
    }


def _cway_users() -> dict[str, Record]:
    users: dict[str, Record] = {}
    for upn, first, last, n, org, admin in _PEOPLE:
        if org is None:
            continue
        users[upn] = {
            "id": uid(USER, n),
            "enabled": True,
            "username": upn,
            "email": upn,
            "firstName": first,
            "lastName": last,
            "name": f"{first} {last}",
            "acceptedTerms": True,
            "isSSO": True,
            "createdAt": 1_735_689_600_000 + n * 86_400_000,
            "_orgs": [org, *_MORE_ORGS.get(upn, [])],
            "_permissions": _permissions(admin),
            "permissionGroupId": uid(0x1E, 1 if admin else 2),
        }
    return users


def _orgs() -> dict[str, Record]:
    def org(oid: str, name: str, desc: str, n: int) -> Record:
        cat = {"id": uid(CATEGORY, n), "name": "Print", "description": "Printed matter", "usage": 0}
        return {
            "id": oid,
            "name": name,
            "description": desc,
            "active": True,
            "licensed": True,
            "canAddArtwork": True,
            "canAddUser": True,
            "defaultCategory": cat,
            "artworkCategories": [cat],
            "limits": {"maxUsers": 50, "maxStorage": 107_374_182_400},
        }

    return {
        ORG_CONTOSO: org(ORG_CONTOSO, "Contoso Print", "Contoso's print and packaging studio", 1),
        ORG_FABRIKAM: org(ORG_FABRIKAM, "Fabrikam Packaging", "Fabrikam's packaging department", 2),
    }


# (n, org, name, state, orderNo, orderer, manager, created, start, end, description)
_PROJECTS: list[tuple[int, str, str, str, str, str, str | None, str, str, str, str]] = [
    (1, ORG_CONTOSO, "Spring Campaign 2026", "IN_PROGRESS", "CO-1001", ALICE, DAVE,
     "2026-01-10", "2026-01-12", "2026-04-30", "Posters, flyers and banners for the spring sale"),
    (2, ORG_CONTOSO, "Packaging Redesign", "IN_PROGRESS", "CO-1002", DAVE, DAVE,
     "2026-01-20", "2026-02-01", "2026-06-30", "New cereal box family"),
    (3, ORG_CONTOSO, "Annual Report 2025", "DELIVERED", "CO-0999", ALICE, None,
     "2025-11-03", "2025-11-05", "2026-01-15", "Printed annual report"),
    (4, ORG_CONTOSO, "Trade Fair Stand", "CLOSED", "CO-0950", DAVE, None,
     "2025-09-01", "2025-09-02", "2025-10-20", "Roll-ups for the autumn fair"),
    (5, ORG_FABRIKAM, "Fabrikam Label Series", "IN_PROGRESS", "FB-2001", BOB, BOB,
     "2026-01-15", "2026-01-16", "2026-05-31", "Bottle labels for the new range"),
    (6, ORG_FABRIKAM, "Fabrikam Secret Launch", "PLANNED", "FB-2002", BOB, None,
     "2026-02-01", "2026-03-01", "2026-09-30", "Confidential product launch"),
]  # fmt: skip

# (n, project n, name, state, approvers, suppliers)
_ARTWORKS: list[tuple[int, int, str, str, list[str], list[str]]] = [
    (1, 1, "Poster A2", "FOR_REVIEW", [ALICE], [DAVE]),
    (2, 1, "Flyer A5", "APPROVED", [ALICE], [DAVE]),
    (3, 1, "Web Banner", "UNSTARTED", [DAVE], [ALICE]),
    (4, 2, "Cereal Box Front", "FOR_REVIEW", [ALICE, DAVE], [DAVE]),
    (5, 2, "Cereal Box Back", "REJECTED", [DAVE], [ALICE]),
    (6, 3, "Annual Report Print PDF", "DELIVERED", [ALICE], [DAVE]),
    (7, 5, "Label 330 ml", "FOR_REVIEW", [BOB], [BOB]),
    (8, 5, "Label 500 ml", "UNSTARTED", [BOB], [BOB]),
]

PROJECT_IDS = {n: uid(PROJECT, n) for n, *_ in _PROJECTS}
ARTWORK_IDS = {n: uid(ARTWORK, n) for n, *_ in _ARTWORKS}


def _millis(date: str) -> int:
    from datetime import UTC, datetime

    return int(datetime.fromisoformat(date).replace(tzinfo=UTC).timestamp() * 1000)


def _projects() -> tuple[dict[str, Record], dict[str, Record], dict[str, list[Record]]]:
    projects: dict[str, Record] = {}
    artworks: dict[str, Record] = {}
    events: dict[str, list[Record]] = {}
    for n, org, name, state, order_no, orderer, manager, created, start, end, desc in _PROJECTS:
        pid = uid(PROJECT, n)
        projects[pid] = {
            "id": pid,
            "name": name,
            "state": state,
            "orderNo": order_no,
            "description": desc,
            "notes": None,
            "silent": False,
            "created": created,
            "startDate": start,
            "endDate": end,
            "lastActivity": f"{created}T09:00:00",
            "_org": org,
            "_orderer": orderer,
            "_manager": manager,
        }
        events[pid] = [_event(0x2A, n, _millis(created), "PROJECT_CREATED", f"{name} was created")]
    for n, pn, name, state, approvers, suppliers in _ARTWORKS:
        aid = uid(ARTWORK, n)
        project = projects[uid(PROJECT, pn)]
        artworks[aid] = {
            "id": aid,
            "projectId": project["id"],
            "projectName": project["name"],
            "name": name,
            "description": f"{name} for {project['name']}",
            "state": state,
            "created": project["created"],
            "startDate": project["startDate"],
            "endDate": project["endDate"],
            "latestActivity": f"{project['created']}T10:00:00Z",
            "_approvers": list(approvers),
            "_suppliers": list(suppliers),
            "_orderer": project["_orderer"],
            "_org": project["_org"],
        }
        ts = _millis(project["created"]) + 3_600_000
        events[aid] = [_event(0x2B, n, ts, "ARTWORK_CREATED", f"{name} was added")]
    return projects, artworks, events


def _event(kind: int, n: int, ts: int, name: str, description: str) -> Record:
    return {"id": uid(kind, n), "timestamp": ts, "name": name, "description": description}


def _media() -> tuple[dict[str, Record], dict[str, Record], dict[str, Record], dict[str, Record]]:
    folders: dict[str, Record] = {
        uid(FOLDER, 1): {"id": uid(FOLDER, 1), "parentId": None, "name": "Contoso Assets", "_org": ORG_CONTOSO},
        uid(FOLDER, 2): {"id": uid(FOLDER, 2), "parentId": uid(FOLDER, 1), "name": "Logos", "_org": ORG_CONTOSO},
        uid(FOLDER, 3): {"id": uid(FOLDER, 3), "parentId": None, "name": "Fabrikam Assets", "_org": ORG_FABRIKAM},
    }
    for f in folders.values():
        f["shared"] = False
        f["permissions"] = {"write": True, "manage": False, "share": True, "downloadDeliveryFiles": True}

    def file(n: int, name: str, folder: int, org: str, ctype: str, size: int) -> Record:
        return {
            "id": uid(FILE, n),
            "name": name,
            "size": size,
            "fullSize": size,
            "contentType": ctype,
            "created": 1_736_000_000_000 + n * 1000,
            "isVideo": False,
            "barcodeStatus": "NONE",
            "_folder": uid(FOLDER, folder),
            "_org": org,
        }

    files = {
        uid(FILE, 1): file(1, "contoso-logo.svg", 2, ORG_CONTOSO, "image/svg+xml", 12_345),
        uid(FILE, 2): file(2, "brand-guide.pdf", 1, ORG_CONTOSO, "application/pdf", 2_345_678),
        uid(FILE, 3): file(3, "fabrikam-logo.png", 3, ORG_FABRIKAM, "image/png", 45_678),
    }
    mc_artworks = {
        uid(MC_ARTWORK, 1): {
            "id": uid(MC_ARTWORK, 1),
            "name": "Spring Poster Master",
            "draft": False,
            "created": 1_736_100_000_000,
            "modifiedDate": "2026-01-10T12:00:00Z",
            "_folder": uid(FOLDER, 1),
            "_org": ORG_CONTOSO,
        }
    }

    def share(n: int, name: str, org: str, sender: str, to: str, size: int) -> Record:
        return {
            "id": uid(SHARE, n),
            "name": name,
            "size": size,
            "created": 1_736_200_000_000 + n * 1000,
            "validToDate": 1_767_225_600_000,
            "sharedTo": to,
            "sharedFrom": sender,
            "partialDownloadAllowed": True,
            "read": False,
            "_org": org,
        }

    shares = {
        uid(SHARE, 1): share(1, "Logo pack for printer", ORG_CONTOSO, ALICE, "partner@printshop.example", 12_345),
        uid(SHARE, 2): share(2, "Brand guide", ORG_CONTOSO, DAVE, ALICE, 2_345_678),
        uid(SHARE, 3): share(3, "Fabrikam labels", ORG_FABRIKAM, BOB, "labels@printer.example", 45_678),
    }
    return folders, files, mc_artworks, shares


# --- people and catalogue (teams, permission groups, brands, markets, articles, print specs) ----

TEAM, GROUP, BRAND, MARKET, ARTICLE, ARTICLE_CATEGORY, PRINT_SPEC = 0x1D, 0x1E, 0x2C, 0x2D, 0x2E, 0x2F, 0x3A

#: Cway's permission groups: name -> the permissions a member of the group gets. An
#: organisation's admins are the "Administrator" group; ``isSystemAdmin`` is not a group's to give.
PERMISSION_GROUPS: dict[str, tuple[str, bool]] = {
    uid(GROUP, 1): ("Administrator", True),
    uid(GROUP, 2): ("Member", False),
}
ADMIN_GROUP, MEMBER_GROUP = uid(GROUP, 1), uid(GROUP, 2)


def group_permissions(group_id: str, *, system_admin: bool = False) -> Record:
    """The permission set a member of ``group_id`` gets (keeps a system admin's own flag)."""
    perms = _permissions(PERMISSION_GROUPS[group_id][1])
    perms["isSystemAdmin"] = system_admin
    return perms


def _teams() -> dict[str, Record]:
    team = uid(TEAM, 1)
    return {
        team: {
            "id": team,
            "name": "Packaging approvers",
            "description": "Approves every box and label",
            "approvalMode": "ALL_REQUIRED",
            "_org": ORG_CONTOSO,
            "_members": {uid(USER, 1): True, uid(USER, 4): False},  # alice (team admin), dave
        }
    }


def _catalogue() -> dict[str, dict[str, Record]]:
    brands = {
        uid(BRAND, 1): {"id": uid(BRAND, 1), "name": "Contoso Crunch", "_org": ORG_CONTOSO},
        uid(BRAND, 2): {"id": uid(BRAND, 2), "name": "Fabrikam Fizz", "_org": ORG_FABRIKAM},
    }
    markets = {
        uid(MARKET, 1): {"id": uid(MARKET, 1), "name": "Nordics", "_org": ORG_CONTOSO},
        uid(MARKET, 2): {"id": uid(MARKET, 2), "name": "Germany", "_org": ORG_FABRIKAM},
    }
    categories = {
        uid(ARTICLE_CATEGORY, 1): {"id": uid(ARTICLE_CATEGORY, 1), "name": "Cereals", "parent": None,
                                   "_org": ORG_CONTOSO},
        uid(ARTICLE_CATEGORY, 2): {"id": uid(ARTICLE_CATEGORY, 2), "name": "Drinks", "parent": None,
                                   "_org": ORG_FABRIKAM},
    }  # fmt: skip
    articles = {
        uid(ARTICLE, 1): {
            "id": uid(ARTICLE, 1), "articleNo": "CC-375", "name": "Crunch 375 g", "size": "375 g",
            "gtins": ["7310865004703"], "_brand": uid(BRAND, 1), "_market": uid(MARKET, 1),
            "_categories": [uid(ARTICLE_CATEGORY, 1)], "_org": ORG_CONTOSO,
        },
        uid(ARTICLE, 2): {
            "id": uid(ARTICLE, 2), "articleNo": "FF-330", "name": "Fizz 330 ml", "size": "330 ml",
            "gtins": [], "_brand": uid(BRAND, 2), "_market": uid(MARKET, 2),
            "_categories": [uid(ARTICLE_CATEGORY, 2)], "_org": ORG_FABRIKAM,
        },
    }  # fmt: skip
    specs = {
        uid(PRINT_SPEC, 1): {
            "id": uid(PRINT_SPEC, 1),
            "name": "Cereal box, offset",
            "createdAt": 1_736_300_000_000,
            "_createdBy": DAVE,
            "_org": ORG_CONTOSO,
            "packaging": {"packagingItem": "Folding carton", "substrate": "GC1 350 g", "substrateColor": "White"},
        }
    }
    return {
        "brands": brands,
        "markets": markets,
        "article_categories": categories,
        "articles": articles,
        "print_specs": specs,
    }


_PRISTINE: dict[str, Any] | None = None


def seed() -> dict[str, Any]:
    """A fresh deep copy of all seed collections (mutations never leak between resets)."""
    global _PRISTINE
    if _PRISTINE is None:
        projects, artworks, events = _projects()
        folders, files, mc_artworks, shares = _media()
        _PRISTINE = {
            "directory": directory_users(),
            "users": _cway_users(),
            "orgs": _orgs(),
            "projects": projects,
            "artworks": artworks,
            "events": events,
            "folders": folders,
            "files": files,
            "mc_artworks": mc_artworks,
            "shares": shares,
            "teams": _teams(),
            **_catalogue(),
        }
    return copy.deepcopy(_PRISTINE)
