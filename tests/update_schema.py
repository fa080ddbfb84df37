"""``make update-schema``: refresh the shipped Cway schema from Cway's own introspection.

The shipped copy (``contract/cway_contract/data/schema.graphql``) is the project's source of truth: the
shim validates every document against it, offline. This script replaces it with what Cway's
GraphQL endpoint reports now, printed the way the reference copy was printed (graphql-core's
``get_introspection_query`` → ``build_client_schema`` → ``print_schema``), so an unchanged API
gives a byte-identical file and ``git diff`` shows exactly what Cway changed.

The token is read from ``CWAY_API_TOKEN`` (a Cway API token, or the bearer ``cway-auth token``
prints), never from the command line, where other users could read it; it is never printed. The
endpoint is ``--url``, else ``CWAY_API_URL``, else Cway's production endpoint.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import httpx
from graphql import build_client_schema, get_introspection_query, print_schema

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "contract" / "cway_contract" / "data" / "schema.graphql"
DEFAULT_URL = "https://app.cway.se/graphql"


class UpdateFailed(Exception):
    """One line saying what went wrong (never the token)."""


def fetch_schema_sdl(url: str, token: str, *, client: httpx.Client | None = None) -> str:
    """Cway's schema as SDL, from an introspection query sent with ``token``."""
    own = client is None
    http = client or httpx.Client(timeout=60)
    try:
        try:
            answer = http.post(
                url,
                json={"query": get_introspection_query(descriptions=True)},
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise UpdateFailed(f"{url}: {type(exc).__name__}: could not reach the endpoint") from None
    finally:
        if own:
            http.close()
    if answer.status_code != 200:
        raise UpdateFailed(f"{url} answered HTTP {answer.status_code} (is CWAY_API_TOKEN valid?)")
    try:
        body = answer.json()
    except ValueError:
        raise UpdateFailed(f"{url} did not answer JSON") from None
    if body.get("errors") or not isinstance(body.get("data"), dict) or "__schema" not in body["data"]:
        messages = "; ".join(str(e.get("message", e)) for e in body.get("errors") or [])[:300]
        raise UpdateFailed(f"{url} refused the introspection query: {messages or 'no __schema in the answer'}")
    try:
        return print_schema(build_client_schema(body["data"]))
    except (TypeError, ValueError, KeyError) as exc:
        raise UpdateFailed(f"{url} answered an introspection result graphql-core cannot read: {exc}") from None


def update(url: str, token: str, target: Path = SCHEMA_FILE, *, client: httpx.Client | None = None) -> str:
    """Write the fetched schema to ``target``; a line saying whether it changed."""
    sdl = fetch_schema_sdl(url, token, client=client)
    old = target.read_text(encoding="utf-8") if target.exists() else ""
    if sdl == old:
        return f"{target.name} is up to date with {url}"
    target.write_text(sdl, encoding="utf-8")
    return f"{target.name} updated from {url} ({len(old.splitlines())} -> {len(sdl.splitlines())} lines); review with git diff"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make update-schema", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("CWAY_API_URL") or DEFAULT_URL, help="Cway's GraphQL URL")
    parser.add_argument("--output", type=Path, default=SCHEMA_FILE, help="where to write (default: the shipped copy)")
    args = parser.parse_args(argv)
    token = os.environ.get("CWAY_API_TOKEN", "").strip()
    if not token:
        print(
            "update-schema: set CWAY_API_TOKEN to a Cway API token (it is read from the environment only)",
            file=sys.stderr,
        )
        return 2
    try:
        print(update(args.url, token, args.output))
    except UpdateFailed as exc:
        print(f"update-schema: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
