"""The stack's Blazar as its setup leaves it: the tenant's account, the catalog entry and the
tenant's openrc."""

from __future__ import annotations

import httpx

from stack import blazar_setup
from stack.identity import Account
from stack.layout import BLAZAR_URL
from tests.conftest import _require


def tenant() -> Account:
    _require("blazar-api")
    return blazar_setup.demo_account()


def test_the_catalog_names_blazar_as_the_reservation_service() -> None:
    account = tenant()
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": account.username, "domain": {"id": "default"}, "password": account.password}}},
        "scope": {"project": {"id": account.project_id}}}}  # fmt: skip
    answer = httpx.post(f"{account.auth_url}/auth/tokens", json=body, timeout=30)
    answer.raise_for_status()
    catalog = answer.json()["token"]["catalog"]
    urls = {e["url"] for s in catalog if s["type"] == "reservation" for e in s["endpoints"]}
    assert urls == {f"{BLAZAR_URL}/v1"}
    assert f"OS_PROJECT_NAME={account.project_name}" in blazar_setup.demo_openrc().read_text()
