"""Which resource an access token is for, decided by the requested scopes, as in Entra v2.

No resource scope, or only Microsoft Graph scopes (``User.Read``, ``https://graph.microsoft.com/...``),
means a Graph token; ``api://<app id URI or client id>/<name>`` of an app that exposes an API
means a token for that app. A token request naming two resources is refused (AADSTS28000), an
unknown resource (AADSTS500011) or scope (AADSTS70011) too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cway_emulator.idp_model import (
    GRAPH_APP_ID,
    GRAPH_RESOURCE,
    OIDC_SCOPES,
    Client,
    EntraError,
    multiple_resources_error,
)


@dataclass(frozen=True)
class ScopeRules:
    tenant: str
    clients: Mapping[str, Client]

    def _api_client(self, uri: str) -> Client | None:
        low = uri.lower()
        for client in self.clients.values():
            if client.app_id_uri and low in (client.app_id_uri.lower(), f"api://{client.client_id}".lower()):
                return client
        return None

    def resolve_scope(self, scope: str) -> tuple[str, str] | None:
        """``(resource app id, scope name)`` of one scope, None for an OIDC scope; raises EntraError."""
        low = scope.lower()
        if low in OIDC_SCOPES:
            return None
        if low == "user.read":
            return GRAPH_APP_ID, "User.Read"
        resource, _, name = scope.rpartition("/")
        if name and low.startswith(GRAPH_RESOURCE + "/") and resource.lower() == GRAPH_RESOURCE:
            return GRAPH_APP_ID, name
        if name and low.startswith("api://") and len(resource) > len("api://"):
            client = self._api_client(resource)
            if client is None:
                raise EntraError(
                    "invalid_resource",
                    500011,
                    f"The resource principal named {resource} was not found in the tenant named {self.tenant}. "
                    "This can happen if the application has not been installed by the administrator of the tenant.",
                )
            if name == ".default" or name.lower() in {s.lower() for s in client.api_scopes}:
                return client.client_id, name
        raise EntraError("invalid_scope", 70011, f"The provided value for scope {scope} is not valid.")

    def resource_of(self, scopes: list[str]) -> tuple[str, list[str]]:
        """The one resource a token is for (Graph when none is named) and its scope names."""
        found: dict[str, list[str]] = {}
        for scope in scopes:
            resolved = self.resolve_scope(scope)
            if resolved is None:
                continue
            audience, name = resolved
            names = found.setdefault(audience, [])
            if name == ".default":  # every scope of the API the app was granted (here: all it exposes)
                api = self.clients.get(audience)
                names.extend(n for n in (api.api_scopes if api else ()) if n not in names)
            elif name not in names:
                names.append(name)
        if len(found) > 1:
            raise multiple_resources_error(scopes)
        audience, names = next(iter(found.items()), (GRAPH_APP_ID, []))
        if audience == GRAPH_APP_ID and "user.read" not in {n.lower() for n in names}:
            names.append("User.Read")  # Entra's default Graph permission comes with every Graph token
        return audience, names
