"""Strict tool arguments: an unknown or misspelt argument is an error, and every argument error is
one plain sentence the model can act on.

Why: the SDK's argument models ignore keys they do not know, so ``find_users(query="dave")``
silently listed every user (the argument is ``search``) and ``approve_artwork(bogus=1)`` was
accepted. And pydantic's own error text (``1 validation error for ...Arguments ... For further
information visit https://errors.pydantic.dev/...``) is written for Python programmers, not for
a model choosing its next call. Two pieces:

* :func:`close_input_schemas` marks every tool's input schema (and the object types it nests)
  ``additionalProperties: false``, so a client that validates before sending catches it too;
* :func:`argument_problem` runs before the tool (from the request middleware) and answers with
  the argument's name, a close match if there is one, and the arguments the tool takes.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from mcp.server.mcpserver import MCPServer
from pydantic import ValidationError

from cway_tools import sdk_adapter
from cway_tools.lazy_tools import LazyToolManager

MAX_SHOWN_ERRORS = 3
MAX_VALUE_CHARS = 60


def close_input_schemas(server: MCPServer) -> None:
    """Set ``additionalProperties: false`` on every tool's input schema and on each nested object type.

    On a :class:`~cway_tools.lazy_tools.LazyServer` this becomes a hook applied to each tool as it
    is built or listed, so closing the schemas does not build every tool's models at start.
    """
    manager = sdk_adapter.tool_manager(server)
    if isinstance(manager, LazyToolManager):
        manager.add_input_schema_hook(_close)
        return
    for tool in manager.list_tools():
        _close(tool.parameters)


def _close(schema: Any) -> None:
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "object" and "properties" in schema:
        schema["additionalProperties"] = False
    for key in ("properties", "$defs"):
        for sub in (schema.get(key) or {}).values():
            _close(sub)
    for key in ("items", "anyOf", "oneOf", "allOf"):
        value = schema.get(key)
        for sub in value if isinstance(value, list) else [value]:
            _close(sub)


def argument_problem(server: MCPServer, name: str, arguments: Mapping[str, Any]) -> str | None:
    """The sentence explaining what is wrong with ``arguments`` for tool ``name``, or None if they are fine.

    Unknown tools are left to the SDK (it has its own answer for those).
    """
    tool = sdk_adapter.tool_manager(server).get_tool(name)
    if tool is None:
        return None
    expected = list((tool.parameters.get("properties") or {}).keys())
    unknown = [key for key in arguments if key not in expected]
    if unknown:
        parts = []
        for key in unknown:
            close = difflib.get_close_matches(key, expected, n=1, cutoff=0.5)
            parts.append(f"'{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        noun = "argument" if len(unknown) == 1 else "arguments"
        return (
            f"{name} does not take the {noun} {', '.join(parts)}; "
            f"it takes: {', '.join(expected) if expected else 'no arguments'}."
        )
    metadata = tool.fn_metadata
    try:
        metadata.arg_model.model_validate(metadata.pre_parse_json(dict(arguments)))
    except ValidationError as exc:
        return f"{name} was called with invalid arguments: {plain_errors(exc)}"
    return None


def plain_errors(exc: ValidationError) -> str:
    """Pydantic errors as one sentence: the argument path, what was wrong, the value given."""
    texts = []
    errors = exc.errors(include_url=False)
    for err in errors[:MAX_SHOWN_ERRORS]:
        where = _path(err.get("loc", ()))
        kind = err.get("type", "")
        if kind == "missing":
            texts.append(f"'{where}' is required")
            continue
        if kind == "extra_forbidden":
            texts.append(f"'{where}' is not an accepted field")
            continue
        message = str(err.get("msg", "is invalid")).rstrip(".")
        message = message[:1].lower() + message[1:]
        given = repr(err.get("input"))
        if len(given) > MAX_VALUE_CHARS:
            given = given[: MAX_VALUE_CHARS - 1] + "…"
        texts.append(f"'{where}': {message} (got {given})")
    more = len(errors) - MAX_SHOWN_ERRORS
    return "; ".join(texts) + (f"; and {more} more problem{'s' if more > 1 else ''}" if more > 0 else "") + "."


def _path(loc: Any) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "arguments"
