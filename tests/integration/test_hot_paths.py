"""Routes that look their key up in their own statement (one round trip) refuse exactly as
every other route does: 401 before anything is said of the request, 403 for a role, and a
revoked key fails at once."""

import httpx
import pytest

from app.tenants.service import KEY_PREFIX
from tests.conftest import Tenant
from tests.integration.helpers import assert_problem, put_customer

HOT_READS = ["/v1/customers/c-1/status", "/v1/customers/c-1/next-follow-up"]
FORGED_KEY = KEY_PREFIX + "0" * 32 + "_not-a-key"


@pytest.mark.parametrize("path", HOT_READS)
class TestHotReads:
    async def test_an_unknown_key_is_401_even_with_a_bad_as_of(
        self, anonymous: httpx.AsyncClient, admin: httpx.AsyncClient, path: str
    ) -> None:
        await put_customer(admin)
        headers = {"Authorization": f"Bearer {FORGED_KEY}"}
        response = await anonymous.get(path, params={"as_of": "yesterday"}, headers=headers)
        assert_problem(response, 401)

    async def test_no_key_is_401(self, anonymous: httpx.AsyncClient, path: str) -> None:
        assert_problem(await anonymous.get(path, params={"as_of": "bad"}), 401)

    async def test_a_partner_key_is_403_even_with_a_bad_as_of(
        self, tenant: Tenant, admin: httpx.AsyncClient, path: str
    ) -> None:
        await put_customer(admin)
        partner = await tenant.client("partner", "dist-1")
        assert_problem(await partner.get(path), 403)
        assert_problem(await partner.get(path, params={"as_of": "bad"}), 403)

    async def test_a_revoked_key_fails_at_once(
        self, tenant: Tenant, admin: httpx.AsyncClient, path: str
    ) -> None:
        await put_customer(admin)
        created = await admin.post("/v1/api-keys", json={"role": "read"})
        assert created.status_code == 201, created.text
        key = created.json()
        headers = {"Authorization": f"Bearer {key['key']}"}
        assert (await admin.get(path, headers=headers)).status_code == 200
        assert (await admin.delete(f"/v1/api-keys/{key['id']}")).status_code == 204
        assert_problem(await admin.get(path, headers=headers), 401)

    async def test_an_unknown_customer_is_404(self, admin: httpx.AsyncClient, path: str) -> None:
        assert_problem(await admin.get(path.replace("c-1", "nobody")), 404)
