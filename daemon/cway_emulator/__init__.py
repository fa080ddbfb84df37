"""Emulated Microsoft Entra ID + Cway backend for developing and testing cway-mcp offline.

Like LocalStack, it is faithful rather than agreeable: PKCE, single-use codes, rotating refresh
tokens, schema validation of every GraphQL document and per-organisation isolation are
enforced, so code that passes here has a fighting chance against the real services.

Entry points: ``EmulatorServer`` (in-process, for tests) and ``python -m cway_emulator`` (CLI).
"""

from cway_emulator.browser import SignInError, browser_sign_in, browser_sign_in_async
from cway_emulator.emulator import (
    CWAY_API_SCOPE,
    CWAY_CLIENT_ID,
    DEFAULT_CLIENT_ID,
    DEFAULT_REDIRECT_URI,
    DEFAULT_TENANT,
)
from cway_emulator.knobs import COUNTER_NAMES, FailureRule, KnobError, Knobs
from cway_emulator.server import EmulatorServer

__all__ = [
    "COUNTER_NAMES",
    "CWAY_API_SCOPE",
    "CWAY_CLIENT_ID",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_REDIRECT_URI",
    "DEFAULT_TENANT",
    "EmulatorServer",
    "FailureRule",
    "KnobError",
    "Knobs",
    "SignInError",
    "browser_sign_in",
    "browser_sign_in_async",
]
