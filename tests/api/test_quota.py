"""Per-project limits: subscriptions and dedicated functions, atomic under concurrent
creates (real threads against the real Redis), and who may ask for a dedicated function."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from flask.testing import FlaskClient

from api.app import create_app
from blazar_events.store import SubscriptionStore
from tests.api.conftest import ADMIN, MEMBER_A, SINK, create, settings


def test_concurrent_creates_through_the_api_stop_at_the_quota(store: SubscriptionStore) -> None:
    app = create_app(settings(max_subscriptions_per_project=3), store=store)
    start = threading.Barrier(16)

    def post(_n: int) -> int:
        client = app.test_client()
        start.wait()
        return client.post("/v1/subscriptions", json={"sink": SINK}, headers=MEMBER_A).status_code

    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(post, range(16)))
    assert sorted(codes) == [201] * 3 + [409] * 13
    assert store.count("project-a") == 3


def test_concurrent_lease_batches_stop_at_the_quota_all_or_none(store: SubscriptionStore) -> None:
    app = create_app(settings(max_subscriptions_per_project=5), store=store)
    start = threading.Barrier(8)
    batch = {"subscriptions": [{"sink": SINK}, {"sink": SINK}]}

    def post(_n: int) -> int:
        client = app.test_client()
        start.wait()
        response = client.post("/v1/leases/lease-q/subscriptions", json=batch, headers=MEMBER_A)
        return response.status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(post, range(8)))
    assert codes.count(201) == 2 and codes.count(409) == 6
    assert store.count("project-a") == 4  # never a half-stored batch


def test_a_dedicated_function_is_for_admins_by_default(client: FlaskClient) -> None:
    asked = client.post(
        "/v1/subscriptions", json={"sink": SINK, "dedicated_function": True}, headers=MEMBER_A
    )
    assert asked.status_code == 403 and asked.json is not None
    assert "dedicated_function" in asked.json["error_message"]
    lease = client.post(
        "/v1/leases/lease-1/subscriptions",
        json={"subscriptions": [{"sink": SINK, "dedicated_function": True}]},
        headers=MEMBER_A,
    )
    assert lease.status_code == 403
    plain = create(client)
    patched = client.patch(
        f"/v1/subscriptions/{plain['id']}", json={"dedicated_function": True}, headers=MEMBER_A
    )
    assert patched.status_code == 403
    # One an admin granted, the project may keep (a PUT of the body as read) or drop.
    granted = create(client, ADMIN, project_id="project-a", dedicated_function=True)
    body = {k: v for k, v in granted.items() if k not in ("secret", "version")}
    kept = client.put(f"/v1/subscriptions/{granted['id']}", json=body, headers=MEMBER_A)
    assert kept.status_code == 200, kept.json


def test_dedicated_functions_are_capped_per_project(store: SubscriptionStore) -> None:
    client = create_app(settings(max_dedicated_functions_per_project=2), store=store).test_client()
    for _ in range(2):
        create(client, ADMIN, project_id="project-a", dedicated_function=True)
    third = client.post(
        "/v1/subscriptions",
        json={"sink": SINK, "project_id": "project-a", "dedicated_function": True},
        headers=ADMIN,
    )
    assert third.status_code == 409 and third.json is not None
    assert "at most 2" in third.json["error_message"]
    create(client, ADMIN, project_id="project-b", dedicated_function=True)  # its own cap
    create(client, project_id="project-a")  # and plain subscriptions are not affected
