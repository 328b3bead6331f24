from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from blazar_events.store import SubscriptionStore
from tests.api.conftest import MEMBER_A, MEMBER_B, create, settings


def test_delivery_log_newest_first(client: FlaskClient, store: SubscriptionStore) -> None:
    sub = create(client)
    for n in range(3):
        store.append_delivery(sub["id"], {"attempt": n, "status": 503})
    response = client.get(f"/v1/subscriptions/{sub['id']}/deliveries?limit=2", headers=MEMBER_A)
    assert response.json == {
        "deliveries": [{"attempt": 2, "status": 503}, {"attempt": 1, "status": 503}]
    }


def _ago(hours: float, offset_hours: int = 0) -> str:
    """An RFC 3339 time ``hours`` before now (negative: ahead), written at a UTC offset."""
    zone = timezone(timedelta(hours=offset_hours))
    return (datetime.now(UTC) - timedelta(hours=hours)).astimezone(zone).isoformat()


def test_replay_request_reaches_the_broker_stream(
    client: FlaskClient, store: SubscriptionStore
) -> None:
    sub = create(client)
    since, until = _ago(2, offset_hours=2), _ago(1)
    response = client.post(
        f"/v1/subscriptions/{sub['id']}/replay",
        json={"since": since, "until": until},
        headers=MEMBER_A,
    )
    assert response.status_code == 202 and response.json is not None
    ((_, request),) = store.requests()
    assert request == {
        "kind": "replay",
        "subscription_id": sub["id"],
        "since": datetime.fromisoformat(since).astimezone(UTC).isoformat(),
        "until": datetime.fromisoformat(until).astimezone(UTC).isoformat(),
        "request_id": response.json["replay_id"],
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-07-10T12:00:00"}, "since"),  # no offset: ambiguous
        ({"since": "2999-01-01T00:00:00Z"}, "since"),
        ({"since": _ago(-0.1)}, "since: is in the future"),  # six minutes ahead
        ({"since": _ago(169)}, "since: more than 168 hours ago"),  # Kafka no longer has it
        ({"since": "0001-01-01T00:00:00+01:00"}, "since: more than"),
        ({"since": _ago(2), "until": _ago(-1)}, "until: is in the future"),
        ({"since": _ago(2), "until": _ago(3)}, "until: must be after since"),
        ({"since": _ago(2), "extra": 1}, "extra"),
    ],
)
def test_replay_refuses_bad_windows_naming_the_field(
    client: FlaskClient, store: SubscriptionStore, body: dict[str, Any], field: str
) -> None:
    sub = create(client)
    response = client.post(f"/v1/subscriptions/{sub['id']}/replay", json=body, headers=MEMBER_A)
    assert response.status_code == 400 and response.json is not None
    assert field in response.json["error_message"], response.json
    assert store.requests() == []


def test_replay_within_the_clock_skew_and_the_configured_age(store: SubscriptionStore) -> None:
    client = create_app(settings(replay_max_age_hours=1000), store=store).test_client()
    sub = create(client)
    body = {"since": _ago(999), "until": _ago(-0.01)}  # 36 s ahead: a client's clock drift
    response = client.post(f"/v1/subscriptions/{sub['id']}/replay", json=body, headers=MEMBER_A)
    assert response.status_code == 202, response.json


@pytest.mark.parametrize("route", ["replay", "test"])
def test_replay_and_test_are_rate_limited_per_subscription(
    client: FlaskClient, store: SubscriptionStore, route: str
) -> None:
    first, second = create(client), create(client)
    body = {"since": _ago(1)} if route == "replay" else None
    url = f"/v1/subscriptions/{first['id']}/{route}"
    assert client.post(url, json=body, headers=MEMBER_A).status_code == 202
    again = client.post(url, json=body, headers=MEMBER_A)
    assert again.status_code == 429 and again.json is not None
    assert again.json["error_name"] == "TooManyRequests" and route in again.json["error_message"]
    assert set(again.json) == {"error_code", "error_name", "error_message"}
    assert 1 <= int(again.headers["Retry-After"]) <= 10  # the default interval
    # Another subscription, and the other route of the same one, have their own allowance.
    other = f"/v1/subscriptions/{second['id']}/{route}"
    assert client.post(other, json=body, headers=MEMBER_A).status_code == 202
    other_route = "test" if route == "replay" else "replay"
    other_body = {"since": _ago(1)} if other_route == "replay" else None
    other_url = f"/v1/subscriptions/{first['id']}/{other_route}"
    assert client.post(other_url, json=other_body, headers=MEMBER_A).status_code == 202
    assert len(store.requests()) == 3  # the refused one never reached the broker


def test_rate_limit_can_be_switched_off(store: SubscriptionStore) -> None:
    client = create_app(settings(request_interval_seconds=0), store=store).test_client()
    sub = create(client)
    for _ in range(3):
        response = client.post(f"/v1/subscriptions/{sub['id']}/test", headers=MEMBER_A)
        assert response.status_code == 202
    assert len(store.requests()) == 3


def test_test_event_request(client: FlaskClient, store: SubscriptionStore) -> None:
    sub = create(client)
    response = client.post(f"/v1/subscriptions/{sub['id']}/test", headers=MEMBER_A)
    assert response.status_code == 202 and response.json is not None
    assert response.json["type"] == "org.openstack.blazar.subscription.test"
    ((_, request),) = store.requests()
    assert request["kind"] == "test" and request["subscription_id"] == sub["id"]


def test_a_project_with_many_subscriptions_is_limited_as_a_whole(
    store: SubscriptionStore,
) -> None:
    client = create_app(settings(project_requests_per_interval=3), store=store).test_client()
    subs = [create(client) for _ in range(5)]
    codes = [
        client.post(f"/v1/subscriptions/{sub['id']}/test", headers=MEMBER_A).status_code
        for sub in subs
    ]
    assert codes == [202, 202, 202, 429, 429]
    refused = client.post(f"/v1/subscriptions/{subs[4]['id']}/replay",
                          json={"since": _ago(1)}, headers=MEMBER_A)  # fmt: skip
    assert refused.status_code == 429 and refused.json is not None
    assert "project project-a" in refused.json["error_message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 10
    # Another project is not held back by this one.
    other = create(client, MEMBER_B)
    assert client.post(f"/v1/subscriptions/{other['id']}/test", headers=MEMBER_B).status_code == 202
    assert len(store.requests()) == 4


def test_a_full_request_queue_refuses_instead_of_dropping_accepted_ones(
    store: SubscriptionStore,
) -> None:
    store.max_pending_requests = 2
    client = create_app(settings(request_interval_seconds=0), store=store).test_client()
    subs = [create(client) for _ in range(3)]
    accepted = [
        client.post(f"/v1/subscriptions/{sub['id']}/test", headers=MEMBER_A) for sub in subs[:2]
    ]
    assert [r.status_code for r in accepted] == [202, 202]
    full = client.post(f"/v1/subscriptions/{subs[2]['id']}/replay",
                       json={"since": _ago(1)}, headers=MEMBER_A)  # fmt: skip
    assert full.status_code == 503 and full.json is not None
    assert full.json["error_name"] == "ServiceUnavailable"
    waiting = [fields["request_id"] for _, fields in store.requests()]
    assert waiting == [r.json["request_id"] for r in accepted if r.json]
