import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from blazar_events.store import SubscriptionStore
from tests.api.conftest import MEMBER_A, settings


def test_the_proposals_form_creates_one_subscription_per_endpoint(client: FlaskClient) -> None:
    body = {
        "subscriptions": [
            {"notify_endpoint": {"ip_address": "10.0.0.1", "port": 8217}},
            {"notify_endpoint": {"ip_address": "10.0.0.2", "port": 8217}},
        ]
    }
    response = client.post("/v1/leases/lease-1/subscriptions", json=body, headers=MEMBER_A)
    assert response.status_code == 201 and response.json is not None
    created = response.json["subscriptions"]
    assert [s["sink"] for s in created] == ["http://10.0.0.1:8217/", "http://10.0.0.2:8217/"]
    assert all(s["lease_id"] == "lease-1" and s["secret"].startswith("whsec_") for s in created)
    listed = client.get("/v1/leases/lease-1/subscriptions", headers=MEMBER_A).json
    assert listed is not None
    assert [s["id"] for s in listed["subscriptions"]] == [s["id"] for s in created]


def test_one_bad_entry_creates_nothing(client: FlaskClient, store: SubscriptionStore) -> None:
    body = {
        "subscriptions": [
            {"notify_endpoint": {"ip_address": "10.0.0.1", "port": 8217}},
            {"notify_endpoint": {"ip_address": "127.0.0.1", "port": 8217}},
        ]
    }
    response = client.post("/v1/leases/lease-1/subscriptions", json=body, headers=MEMBER_A)
    assert response.status_code == 400 and response.json is not None
    assert "subscriptions.1.sink" in response.json["error_message"]
    assert "rule=loopback" in response.json["error_message"]
    assert store.all() == []


def test_entry_for_another_lease_is_refused(client: FlaskClient) -> None:
    body = {"subscriptions": [{"sink": "http://10.0.0.1/", "lease_id": "lease-2"}]}
    response = client.post("/v1/leases/lease-1/subscriptions", json=body, headers=MEMBER_A)
    assert response.status_code == 400


def test_empty_list_is_refused(client: FlaskClient) -> None:
    response = client.post(
        "/v1/leases/lease-1/subscriptions", json={"subscriptions": []}, headers=MEMBER_A
    )
    assert response.status_code == 400


def test_slow_dns_costs_a_request_its_budget_not_a_worker(
    store: SubscriptionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The system resolver is the boundary here: no test can point getaddrinfo at a slow DNS
    # server without root, so the resolver itself hangs until the test lets it go.
    released = threading.Event()
    real = socket.getaddrinfo

    def hanging(host: Any, *args: Any, **kwargs: Any) -> Any:
        if str(host).endswith(".slow.example"):
            released.wait(120)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    app = create_app(settings(resolve_budget_seconds=0.2), store=store)
    body = {
        "subscriptions": [
            {
                "sink": f"https://s{n}.slow.example/",
                "delivery": {"deadLetterSink": f"https://d{n}.slow.example/"},
            }
            for n in range(32)
        ]
    }
    pool = ThreadPoolExecutor(4)  # several requests at once, as on a busy API
    try:
        posts = [
            pool.submit(
                app.test_client().post,
                "/v1/leases/lease-1/subscriptions",
                json=body,
                headers=MEMBER_A,
            )
            for _ in range(4)
        ]
        # A generous bound: with a budget of 0.2 s, a minute means DNS was waited for.
        answers = [post.result(timeout=60) for post in posts]
        assert not released.is_set()  # every answer came while DNS was still hanging
    finally:
        released.set()
        pool.shutdown()
    for response in answers:
        assert response.status_code == 201, response.json
        for created in response.json["subscriptions"]:
            assert any("did not resolve" in w for w in created["warnings"])
    # The pool is bounded: the hanging names never piled up more than its slots.
    assert store.count("project-a") == 128
