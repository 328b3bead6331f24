from flask.testing import FlaskClient

from blazar_events.store import SubscriptionStore
from tests.api.conftest import MEMBER_A, create


def test_delivery_log_newest_first(client: FlaskClient, store: SubscriptionStore) -> None:
    sub = create(client)
    for n in range(3):
        store.append_delivery(sub["id"], {"attempt": n, "status": 503})
    response = client.get(f"/v1/subscriptions/{sub['id']}/deliveries?limit=2", headers=MEMBER_A)
    assert response.json == {
        "deliveries": [{"attempt": 2, "status": 503}, {"attempt": 1, "status": 503}]
    }


def test_replay_request_reaches_the_broker_stream(
    client: FlaskClient, store: SubscriptionStore
) -> None:
    sub = create(client)
    response = client.post(
        f"/v1/subscriptions/{sub['id']}/replay",
        json={"since": "2026-07-10T14:00:00+02:00", "until": "2026-07-10T13:00:00Z"},
        headers=MEMBER_A,
    )
    assert response.status_code == 202 and response.json is not None
    ((_, request),) = store.requests()
    assert request == {
        "kind": "replay",
        "subscription_id": sub["id"],
        "since": "2026-07-10T12:00:00+00:00",
        "until": "2026-07-10T13:00:00+00:00",
        "request_id": response.json["replay_id"],
    }


def test_replay_refuses_bad_windows(client: FlaskClient, store: SubscriptionStore) -> None:
    sub = create(client)
    url = f"/v1/subscriptions/{sub['id']}/replay"
    for body in (
        {},
        {"since": "yesterday"},
        {"since": "2026-07-10T12:00:00"},  # no offset: ambiguous
        {"since": "2999-01-01T00:00:00Z"},
        {"since": "2026-07-10T12:00:00Z", "until": "2026-07-10T11:00:00Z"},
        {"since": "2026-07-10T12:00:00Z", "extra": 1},
    ):
        assert client.post(url, json=body, headers=MEMBER_A).status_code == 400, body
    assert store.requests() == []


def test_test_event_request(client: FlaskClient, store: SubscriptionStore) -> None:
    sub = create(client)
    response = client.post(f"/v1/subscriptions/{sub['id']}/test", headers=MEMBER_A)
    assert response.status_code == 202 and response.json is not None
    assert response.json["type"] == "org.openstack.blazar.subscription.test"
    ((_, request),) = store.requests()
    assert request["kind"] == "test" and request["subscription_id"] == sub["id"]
