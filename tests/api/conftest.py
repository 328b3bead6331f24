"""An API app on real Redis (own key prefix) in noauth mode, the identities tests use, and
the API served by ``blazar-events api`` under gunicorn (``server``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app
from api.settings import ApiSettings
from blazar_events.store import SubscriptionStore

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
def store(redis_url: str, redis_prefix: str) -> Iterator[SubscriptionStore]:
    client = redis.Redis.from_url(redis_url)
    yield SubscriptionStore(client, redis_prefix)
    client.close()


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(redis_url: str, redis_prefix: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    log = tmp_path / "api.log"
    env = {
        **os.environ,
        "BLAZAR_EVENTS_REDIS_URL": redis_url,
        "BLAZAR_EVENTS_REDIS_KEY_PREFIX": redis_prefix,
        "BLAZAR_EVENTS_API_AUTH_STRATEGY": "noauth",
        "BLAZAR_EVENTS_EGRESS_ALLOWED_NETWORKS": "10.0.0.0/8",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "blazar_events.cli", "api", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log.read_text()
            time.sleep(0.05)
        else:
            raise AssertionError(f"the API did not come up:\n{log.read_text()}")
        yield url, log
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)
