"""The validated settings every component reads (:class:`Settings`) and the redirect target."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from cway_contract.config_names import (
    DEFAULT_REFRESH_CONCURRENCY,
    DEFAULT_STOP_TIMEOUT_SECONDS,
    AuthFlow,
    AuthMethod,
    ExchangeToken,
)
from cway_contract.config_sources import Origin


@dataclass(frozen=True)
class RedirectTarget:
    """Where the daemon's loopback listener binds, derived from ``AZURE_REDIRECT_URI``."""

    uri: str
    host: str
    port: int
    path: str


@dataclass(frozen=True)
class Settings:
    auth_method: AuthMethod
    auth_flow: AuthFlow
    cway_api_url: str
    cway_token_url: str
    #: GraphQL subscriptions (graphql-transport-ws), e.g. the AI answers; Cway does not publish it.
    cway_ws_url: str
    cway_username: str | None
    cway_api_token: SecretStr | None
    azure_tenant_id: str | None
    azure_client_id: str | None
    azure_client_secret: SecretStr | None
    azure_authority: str
    azure_scopes: tuple[str, ...]
    redirect: RedirectTarget
    refresh_threshold_seconds: int
    state_dir: Path
    socket_path: Path
    store_key: SecretStr | None
    autostart: bool
    open_browser: bool
    log_level: str
    http_timeout_seconds: float
    #: ``CWAY_EXCHANGE_TOKEN``: the Entra code (Cway redeems it), or an Entra access / ID token.
    cway_exchange_token: ExchangeToken = "code"
    #: ``CWAY_SILENT_REEXCHANGE``: keep the Entra refresh token and exchange again when Cway's refresh fails.
    silent_reexchange: bool = False
    refresh_concurrency: int = DEFAULT_REFRESH_CONCURRENCY
    stop_timeout_seconds: int = DEFAULT_STOP_TIMEOUT_SECONDS
    #: ``CWAY_TOOLSETS``: the toolsets listed in full (names from ``TOOLSET_NAMES``); ``default_tools``
    #: adds the small day-to-day set. Unset: the day-to-day set alone.
    toolsets: tuple[str, ...] = ()
    default_tools: bool = True
    #: ``CWAY_READ_ONLY`` / ``cway-mcp --read-only``: list only tools annotated read-only.
    read_only: bool = False
    sources: tuple[str, ...] = field(default=())
    #: Setting name -> where its effective value came from (absent names are defaults).
    origins: Mapping[str, Origin] = field(default_factory=dict, hash=False, compare=False)
    #: One line each: an environment value that overrides a different config-file value.
    warnings: tuple[str, ...] = field(default=())
    #: AUTH_METHOD=static: more organisations' API tokens (``CWAY_TOKEN_<ORG>``), by lower-case name.
    cway_org_tokens: Mapping[str, SecretStr] = field(default_factory=dict, hash=False, compare=False)

    def origin(self, name: str) -> Origin:
        return self.origins.get(name, Origin("default"))

    @property
    def socket_is_explicit(self) -> bool:
        """``CWAY_MCP_SOCKET`` was set somewhere: then only that path counts (no discovery)."""
        return self.origin("CWAY_MCP_SOCKET").source != "default"

    @property
    def discovery_url(self) -> str:
        return self.azure_authority.rstrip("/") + "/.well-known/openid-configuration"
