"""An API app on real Redis (own key prefix) in noauth mode, the identities tests use, and
the API served by ``blazar-events api`` under gunicorn (``server``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app
from api.settings import ApiSettings
from blazar_events.store import SubscriptionStore
from tests.conftest import api_process

MEMBER_A = {"X-Project-Id": "project-a", "X-User-Id": "alice", "X-Roles": "member,reader"}
READER_A = {"X-Project-Id": "project-a", "X-User-Id": "rita", "X-Roles": "reader"}
MEMBER_B = {"X-Project-Id": "project-b", "X-User-Id": "bob", "X-Roles": "member,reader"}
ADMIN = {"X-Project-Id": "admin-project", "X-User-Id": "root", "X-Roles": "admin,member,reader"}

# The proposal's example endpoint lives on a tenant network, which the operator allows.
TENANT_NETWORK = "10.0.0.0/8"
SINK = "http://10.0.0.1:8217/"


def settings(**overrides: Any) -> ApiSettings:
    values: dict[str, Any] = {
        "auth_strategy": "noauth",
        "allowed_networks": [TENANT_NETWORK],
        **overrides,
    }
    return ApiSettings(**values)


@pytest.fixture
def app(store: SubscriptionStore) -> Flask:
    return create_app(settings(), store=store)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def create(client: FlaskClient, headers: dict[str, str] = MEMBER_A, **body: Any) -> dict[str, Any]:
    """Create a subscription (sink defaults to the tenant endpoint) and return its JSON."""
    response = client.post("/v1/subscriptions", json={"sink": SINK, **body}, headers=headers)
    assert response.status_code == 201, response.json
    result: dict[str, Any] = response.json  # type: ignore[assignment]
    return result


@pytest.fixture
def server(redis_url: str, redis_prefix: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``blazar-events api`` under gunicorn on real Redis, in noauth mode: its URL and log."""
    log = tmp_path / "api.log"
    env = {
        "BLAZAR_EVENTS_REDIS_URL": redis_url,
        "BLAZAR_EVENTS_REDIS_KEY_PREFIX": redis_prefix,
        "BLAZAR_EVENTS_API_AUTH_STRATEGY": "noauth",
        "BLAZAR_EVENTS_EGRESS_ALLOWED_NETWORKS": TENANT_NETWORK,
    }
    with api_process(env, log) as url:
        yield url, log
