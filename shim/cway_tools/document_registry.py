"""What a GraphQL document is, and how one is read from its ``.graphql`` file.

Every operation the product sends is a file, ``graphql/<area>/<OperationName>.graphql``, and every
fragment one too, ``graphql/fragments/<FragmentName>.graphql``: GraphQL text in GraphQL files, which
editors, linters and reviewers read as such. :func:`operation` reads one by name, explicitly (no
file is picked up by being present) and lazily (on first send), appends the fragments it spreads (and theirs), and checks that
the operation inside is named as its file. :mod:`cway_tools.documents` names every one the tools
use; a test validates all of them against Cway's real schema and checks that every file is loaded.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Literal

DocumentKind = Literal["query", "mutation", "subscription"]

_OPERATION = re.compile(r"^(query|mutation|subscription)\s+([A-Za-z_]\w*)")
_SPREAD = re.compile(r"\.\.\.\s*(?!on\b)([A-Za-z_]\w*)")


class Document:
    """A named GraphQL operation (plus the fragments it uses), ready to send.

    ``name`` is also the operation name inside ``text``, so logs and Cway's own metrics
    identify the call. The file is read the first time ``text`` or ``kind`` is asked for (the
    first send), not when :mod:`cway_tools.documents` is imported: every shim start imports it,
    and most sessions send a handful of the 132 documents.
    """

    __slots__ = ("name", "path")

    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.path = path

    @property
    def text(self) -> str:
        return _compose(self.path)[1]

    @property
    def kind(self) -> DocumentKind:
        return _compose(self.path)[0]

    def __repr__(self) -> str:
        return f"Document({self.name!r}, {self.path!r})"


@functools.cache  # a fragment is spread by many operations: read once
def _read(relative: str) -> str:
    """A ``.graphql`` file of this package, without its leading ``#`` comment lines (not sent)."""
    text = Path(__file__).with_name("graphql").joinpath(relative).read_text(encoding="utf-8")
    lines = text.splitlines()
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("#")):
        lines.pop(0)
    return "\n".join(lines).strip()


def _fragments(text: str, seen: list[str]) -> list[str]:
    """The fragments ``text`` spreads, and theirs, each once, in the order first spread."""
    for name in _SPREAD.findall(text):
        if name not in seen:
            seen.append(name)
            _fragments(_read(f"fragments/{name}.graphql"), seen)
    return seen


def operation(path: str) -> Document:
    """The document in ``graphql/<path>.graphql`` (``path`` is ``area/OperationName``), read on first use."""
    return Document(path.rpartition("/")[2], path)


@functools.cache
def _compose(path: str) -> tuple[DocumentKind, str]:
    """``(kind, text)`` of a document: its operation, then the fragments it spreads; the operation
    inside must be named as its file."""
    body = _read(f"{path}.graphql")
    found = _OPERATION.match(body)
    expected = path.rpartition("/")[2]
    if found is None or found.group(2) != expected:
        raise ValueError(f"graphql/{path}.graphql must hold one operation named {expected}")
    kind: DocumentKind = found.group(1)  # type: ignore[assignment]
    parts = [body, *(_read(f"fragments/{name}.graphql") for name in _fragments(body, []))]
    return kind, "\n".join(parts) + "\n"
