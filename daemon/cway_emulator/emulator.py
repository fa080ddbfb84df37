"""One emulator instance's state, shared by the IdP app, the Cway app and the test thread.

The two FastAPI apps are thin HTTP layers over this object; ``EmulatorServer`` owns one and
delegates its in-process helpers (reset, revoke, static tokens, redirect URIs) here.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from cway_contract import SYSTEM_CLOCK, Clock
from cway_emulator.cway_core import CwayCore
from cway_emulator.fixtures import STATIC_TOKENS
from cway_emulator.idp_core import Client, IdpCore
from cway_emulator.knobs import Counters, Knobs
from cway_emulator.store import DataStore

DEFAULT_TENANT = "7e4a1c2b-9d3f-4b6e-8a1c-00000000e1d0"
DEFAULT_TENANT_DOMAIN = "contoso.example"
#: A second directory, for multi-tenant sign-ins (``Emulator.place_user`` moves a user there).
SECOND_TENANT = "5b0f0e7a-2c44-4d0e-9f3e-00000000fab1"
SECOND_TENANT_DOMAIN = "fabrikam.example"
DEFAULT_CLIENT_ID = "00000000-0000-0000-0000-00000000c11e"
CWAY_CLIENT_ID = "00000000-0000-0000-0000-0000000c3a70"
#: The emulated Cway app exposes an API ("Expose an API" in Entra) with one delegated scope.
CWAY_APP_ID_URI = "api://cway"
CWAY_API_SCOPE = f"{CWAY_APP_ID_URI}/user_impersonation"
DEFAULT_REDIRECT_URI = "http://localhost:8765/callback"


class Emulator:
    def __init__(
        self,
        *,
        idp_url: str,
        cway_base_url: str,
        tenant: str = DEFAULT_TENANT,
        client_id: str = DEFAULT_CLIENT_ID,
        redirect_uris: Sequence[str] = (DEFAULT_REDIRECT_URI,),
        clock: Clock = SYSTEM_CLOCK,
        knobs: Knobs | None = None,
    ) -> None:
        self.idp_url = idp_url.rstrip("/")
        self.cway_base_url = cway_base_url.rstrip("/")
        self.tenant = tenant
        self.client_id = client_id
        self.clock = clock
        self.knobs = knobs or Knobs()
        self._initial_knobs = self.knobs.clone()
        self.counters = Counters()
        self.store = DataStore()
        self.issuer = f"{self.idp_url}/{tenant}/v2.0"
        #: The confidential Cway backend app's secret (random per instance, never logged).
        self.cway_client_secret = secrets.token_urlsafe(32)
        clients = {
            client_id: Client(client_id, "cway-mcp daemon (public)", list(redirect_uris)),
            CWAY_CLIENT_ID: Client(
                CWAY_CLIENT_ID,
                "Cway backend",
                list(redirect_uris),
                self.cway_client_secret,
                app_id_uri=CWAY_APP_ID_URI,
                api_scopes=("user_impersonation",),
            ),
        }
        self.idp = IdpCore(self.issuer, tenant, self.knobs, self.store, clock, clients)
        self.idp.tenants.update({tenant: DEFAULT_TENANT_DOMAIN, SECOND_TENANT: SECOND_TENANT_DOMAIN})
        self.cway = CwayCore(
            self.cway_base_url, self.knobs, self.store, clock, idp=self.idp, api_client_id=CWAY_CLIENT_ID
        )
        self._seed_static_tokens()

    # --- URLs ---------------------------------------------------------------------------
    @property
    def idp_token_url(self) -> str:
        return f"{self.idp_url}/{self.tenant}/oauth2/v2.0/token"

    @property
    def graph_me_url(self) -> str:
        return f"{self.idp_url}/v1.0/me"

    @property
    def tenants(self) -> dict[str, str]:
        return self.idp.tenants

    def issuer_for(self, tenant_id: str) -> str:
        return self.idp.issuer_for(tenant_id)

    def place_user(self, upn: str, tenant_id: str) -> None:
        """Make ``upn`` a member of another known tenant (its tokens carry that ``tid`` and issuer)."""
        if tenant_id not in self.idp.tenants:
            raise KeyError(f"unknown tenant {tenant_id}")
        with self.store.lock:
            self.idp.user_tenants[upn.lower()] = tenant_id

    # --- operations ---------------------------------------------------------------------
    def _seed_static_tokens(self) -> None:
        self.knobs.update({"static_tokens": dict(STATIC_TOKENS)})

    def reset(self) -> None:
        """Fresh data, tokens, counters and the start-up knobs; app registrations are kept."""
        self.knobs.reset(self._initial_knobs)
        self._seed_static_tokens()
        self.counters.reset()
        self.store.reset()
        self.idp.reset()
        self.cway.reset()

    def register_redirect_uri(self, uri: str) -> None:
        with self.store.lock:
            for client in self.idp.clients.values():
                if uri not in client.redirect_uris:
                    client.redirect_uris.append(uri)

    def revoke_user(self, username: str) -> None:
        self.store.revoke(username)

    def issue_static_token(self, username: str, organisation: str | None = None) -> str:
        return self.cway.new_static_token(username, organisation)
