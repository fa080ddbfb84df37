"""The one rule for "can a browser be opened here?", shared by ``cway-auth login`` and the shim's login tool.

Yes on macOS; on Linux only with a display (X11 or Wayland) or a browser named in ``BROWSER``.
Over plain SSH there is none: ``webbrowser`` would start a console browser in the terminal (or,
in the shim, on the MCP channel), so the sign-in URL is only shown instead.
"""

from __future__ import annotations

import os
import sys


def can_open_browser() -> bool:
    if sys.platform == "darwin":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("BROWSER"))
