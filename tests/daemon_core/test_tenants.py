"""Tenant and issuer: multi-tenant sign-ins with per-tenant issuers, and the single-tenant refusals.

The emulated IdP knows two tenants; ``place_user`` makes Bob a member of the second. With the
``organizations`` authority, discovery's issuer is Entra's template
(``…/{tenantid}/v2.0``) and every ID token's ``iss`` names its own tenant.
"""

from __future__ import annotations

import pytest

from cway_auth_core.errors import BackendRejected
from cway_authd.core import DaemonCore
from cway_emulator import EmulatorServer, SignInError, browser_sign_in_async
from cway_emulator.emulator import SECOND_TENANT
from cway_emulator.jwt_keys import epoch, idp_signing_key, sign_rs256

from .conftest import ALICE, BOB, CoreFactory, sign_in


def multi_tenant(emu: EmulatorServer) -> dict[str, str]:
    emu.knobs.idp_app_multi_tenant = True
    emu.emulator.place_user(BOB, SECOND_TENANT)
    return {"AZURE_TENANT_ID": "organizations", "AZURE_AUTHORITY": f"{emu.idp_url}/organizations/v2.0"}


@pytest.mark.parametrize("shape", ["id_token", "access_token", "code"])
async def test_two_tenants_sign_in_through_organizations(
    open_core: CoreFactory, emu: EmulatorServer, shape: str
) -> None:
    emu.knobs.cway_exchange_token = shape
    core = await open_core(CWAY_EXCHANGE_TOKEN=shape, **multi_tenant(emu))
    meta = await core.oidc.metadata()
    assert meta.issuer == f"{emu.idp_url}/{{tenantid}}/v2.0"  # the template, filled from each token's tid
    for user in (ALICE, BOB):
        result = await sign_in(core, emu, user)
        assert result.outcome.ok, result.outcome.message
    alice, bob = await core.store.load(ALICE), await core.store.load(BOB)
    assert alice is not None and bob is not None
    if shape != "code":  # the daemon validated the ID token itself and took the tenant from it
        assert (alice.tenant, bob.tenant) == (emu.tenant, SECOND_TENANT)
    assert (await core.health("/s")).authority == f"{emu.idp_url}/organizations/v2.0"


async def test_an_id_token_whose_issuer_is_not_its_tenants_is_refused(
    open_core: CoreFactory, emu: EmulatorServer
) -> None:
    core: DaemonCore = await open_core(**multi_tenant(emu))
    now = epoch(core.clock.now())
    claims = {
        "iss": emu.emulator.issuer_for(emu.tenant),  # Alice's tenant's issuer …
        "tid": SECOND_TENANT,  # … on a token that says it is from the other tenant
        "aud": emu.client_id,
        "exp": now + 600,
        "iat": now,
        "nonce": "n-1",
        "ver": "2.0",
    }
    with pytest.raises(BackendRejected, match="ID token was rejected"):
        await core.oidc.validate_id_token(sign_rs256(idp_signing_key(), claims), nonce="n-1")
    good = {**claims, "iss": emu.emulator.issuer_for(SECOND_TENANT)}
    assert (await core.oidc.validate_id_token(sign_rs256(idp_signing_key(), good), nonce="n-1"))["tid"] == SECOND_TENANT


async def test_a_single_tenant_app_on_organizations_is_refused_with_50194(
    open_core: CoreFactory, emu: EmulatorServer
) -> None:
    # The registration our docs recommend is single-tenant: "organizations" cannot work with it.
    core = await open_core(AZURE_TENANT_ID="organizations", AZURE_AUTHORITY=f"{emu.idp_url}/organizations/v2.0")
    status = await core.start_sign_in(ALICE)
    with pytest.raises(SignInError, match="AADSTS50194"):
        await browser_sign_in_async(status.authorization_url or "", ALICE)


async def test_a_user_of_another_tenant_is_refused_on_a_tenant_authority(
    open_core: CoreFactory, emu: EmulatorServer
) -> None:
    emu.emulator.place_user(BOB, SECOND_TENANT)
    core = await open_core()  # the home tenant's own authority
    result = await sign_in(core, emu, BOB)
    assert not result.outcome.ok and "AADSTS50020" in result.outcome.message
    assert await core.store.list() == []


async def test_the_tenant_domain_works_as_the_authority(open_core: CoreFactory, emu: EmulatorServer) -> None:
    core = await open_core(AZURE_TENANT_ID="contoso.example", AZURE_AUTHORITY=f"{emu.idp_url}/contoso.example/v2.0")
    assert (await core.oidc.metadata()).issuer == emu.authority  # the per-tenant issuer, by tenant id
    assert (await sign_in(core, emu, ALICE)).outcome.ok
