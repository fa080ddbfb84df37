"""The registry of GraphQL documents: what a document is, and the helpers that define one.

Apart from :mod:`cway_tools.documents` so that the modules holding documents (``documents``,
``documents_workflows``) can all define into one registry without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

DocumentKind = Literal["query", "mutation", "subscription"]


@dataclass(frozen=True, slots=True)
class Document:
    """A named GraphQL operation (plus the fragments it uses), ready to send.

    ``name`` is also the operation name inside ``text``, so logs and Cway's own metrics
    identify the call.
    """

    name: str
    text: str
    kind: DocumentKind


_registry: dict[str, Document] = {}


def _define(kind: DocumentKind, name: str, body: str, *fragments: str) -> Document:
    """Build a document from an operation body and the fragments it spreads; register it once."""
    if name in _registry:
        raise ValueError(f"duplicate GraphQL document name {name!r}")
    text = "\n".join([f"{kind} {name}{body.strip()}", *(f.strip() for f in fragments)]) + "\n"
    doc = Document(name=name, text=text, kind=kind)
    _registry[name] = doc
    return doc


def _query(name: str, body: str, *fragments: str) -> Document:
    return _define("query", name, body, *fragments)


def _mutation(name: str, body: str, *fragments: str) -> Document:
    return _define("mutation", name, body, *fragments)


def _subscription(name: str, body: str, *fragments: str) -> Document:
    return _define("subscription", name, body, *fragments)


#: Every document the product sends, by operation name. Read-only view: register via ``_define``.
ALL_DOCUMENTS: Mapping[str, Document] = MappingProxyType(_registry)
