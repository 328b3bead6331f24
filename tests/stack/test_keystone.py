"""The stack's Keystone: its admin credentials work as a real client uses them."""

from __future__ import annotations

import httpx

from stack.identity import KeystoneAdmin


def test_keystone_admin_token_validates(keystone: KeystoneAdmin) -> None:
    token = keystone.token()
    response = httpx.get(
        f"{keystone.auth_url}/auth/tokens",
        headers={"X-Auth-Token": token, "X-Subject-Token": token},
        timeout=10,
    )
    assert response.status_code == 200
    body = response.json()["token"]
    assert body["user"]["name"] == keystone.username
    assert body["project"]["name"] == keystone.project_name
    assert "admin" in {role["name"] for role in body["roles"]}
    assert any(entry["type"] == "identity" for entry in body["catalog"])
