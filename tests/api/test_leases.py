from flask.testing import FlaskClient

from blazar_events.store import SubscriptionStore
from tests.api.conftest import MEMBER_A


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
    assert response.status_code == 400 and "rule=loopback" in response.json["error_message"]  # type: ignore[index]
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
