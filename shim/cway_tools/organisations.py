"""AUTH_METHOD=static with several organisations: which API token the shim sends right now.

A Cway API token belongs to one organisation. The upstream Cway MCP server let a static setup
hold one token per organisation (``CWAY_TOKEN_<ORG>``, beside the default ``CWAY_API_TOKEN``) and
switch between them with ``switch_organization``; this is the same, for this shim process (one
MCP session): ``switch_organisation`` changes the active token, every later call uses it.

Per-user sign-in (AUTH_METHOD=oauth2) has no equivalent: Cway's schema has no operation that
changes a signed-in user's current organisation (``loginInfo.currentOrganisation`` is read-only
there), so that mode shows memberships and the current organisation but does not switch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import SecretStr

from cway_contract import Settings

DEFAULT = "default"


@dataclass
class StaticOrganisations:
    """The configured tokens by name (``default`` = CWAY_API_TOKEN) and the active one."""

    tokens: dict[str, SecretStr]
    active: str = field(default=DEFAULT)

    @classmethod
    def from_settings(cls, settings: Settings) -> StaticOrganisations:
        tokens: dict[str, SecretStr] = {}
        if settings.cway_api_token is not None:
            tokens[DEFAULT] = settings.cway_api_token
        tokens.update(sorted(settings.cway_org_tokens.items()))
        if not tokens:
            raise ToolError("AUTH_METHOD=static needs CWAY_API_TOKEN or a CWAY_TOKEN_<ORG>")
        return cls(tokens=tokens, active=DEFAULT if DEFAULT in tokens else next(iter(tokens)))

    @property
    def names(self) -> list[str]:
        return list(self.tokens)

    def token(self) -> SecretStr:
        return self.tokens[self.active]

    def switch(self, name: str) -> str:
        """Make ``name`` (any case) the active token; return its configured name."""
        wanted = name.strip().lower()
        if wanted not in self.tokens:
            raise ToolError(
                f"No token is configured for organisation {name!r}; configured: {', '.join(self.names)} "
                "(CWAY_API_TOKEN is 'default', CWAY_TOKEN_<ORG> is '<org>')."
            )
        self.active = wanted
        return wanted
