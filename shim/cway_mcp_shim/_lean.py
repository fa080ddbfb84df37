"""Keep the shim's cold start free of web-server code it never runs.

``mcp.server.mcpserver`` imports the SDK's SSE transport, whose ``sse_starlette`` dependency
imports ``uvicorn`` *optionally* (``try: from uvicorn.main import Server except ImportError``),
only to patch uvicorn's shutdown handling. The shim speaks stdio and never starts uvicorn, so
that one import is refused: a finder answers "not installed" when, and only when, the importer
is ``sse_starlette.sse``. Any other ``import uvicorn`` in the same process (a test that runs
the daemon in-process) still works.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

_BLOCKED = "uvicorn"
_OPTIONAL_IMPORTER = "sse_starlette.sse"
_MAX_FRAMES = 40  # the importer sits a few importlib frames above us


class _SkipOptionalUvicorn:
    """A ``sys.meta_path`` finder that only ever says no, and only to ``sse_starlette.sse``."""

    @staticmethod
    def find_spec(
        fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != _BLOCKED:
            return None
        frame = sys._getframe(1)
        for _ in range(_MAX_FRAMES):
            if frame is None:
                break
            if frame.f_globals.get("__name__") == _OPTIONAL_IMPORTER:
                raise ModuleNotFoundError(f"{_BLOCKED} is not used by the cway-mcp shim", name=_BLOCKED)
            frame = frame.f_back  # type: ignore[assignment]
        return None


def install() -> None:
    """Idempotent; a no-op when uvicorn is already loaded (nothing left to save)."""
    if _BLOCKED in sys.modules or any(isinstance(f, _SkipOptionalUvicorn) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _SkipOptionalUvicorn())
