"""``/healthz`` as a probe sees it: no identity needed, 200 while the store answers, 503 in
Blazar's shape while it does not."""

from __future__ import annotations

import redis
from flask.testing import FlaskClient

from api.app import create_app
from blazar_events.store import SubscriptionStore
from tests.api.conftest import settings
from tests.conftest import PrivateRedis


def test_healthy_needs_no_identity(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok"})


def test_the_probe_follows_the_store(private_redis: PrivateRedis) -> None:
    store = SubscriptionStore(redis.Redis(port=private_redis.port, socket_timeout=2), "health")
    client = create_app(settings(), store=store).test_client()
    assert client.get("/healthz").status_code == 200
    private_redis.stop()
    down = client.get("/healthz")
    assert down.status_code == 503 and down.json is not None
    assert (down.json["error_code"], down.json["error_name"]) == (503, "ServiceUnavailable")
    private_redis.start()
    assert client.get("/healthz").status_code == 200
