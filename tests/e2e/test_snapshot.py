"""The lease's state on subscribe, through the whole standalone pipeline: Blazar's Notifier
on RabbitMQ, the bridge (events and the lease state topic), Kafka, the API on Redis, the
broker, a real HTTP sink."""

from __future__ import annotations

import copy
from typing import Any

from flask.testing import FlaskClient

from api.app import create_app
from blazar_events.eventtypes import SNAPSHOT_TYPE
from blazar_events.store import SubscriptionStore
from stack.sink import Received, Sink
from tests.api.conftest import settings
from tests.delivery.conftest import to_subscription
from tests.e2e.conftest import BlazarNotifier, Pipeline, fixture_message

START = fixture_message("v2-lease.event.start_lease.json")
OTHER = fixture_message("v2-other-project-lease.event.start_lease.json")
CREATE = fixture_message("v2-lease.create.json")
DELETE = fixture_message("v2-lease.delete.json")
MINE = START["payload"]["project_id"]
THEIRS = OTHER["payload"]["project_id"]
MEMBER = {"X-Project-Id": MINE, "X-User-Id": "u1", "X-Roles": "member,reader"}
ADMIN = {"X-Project-Id": "admin-project", "X-User-Id": "root", "X-Roles": "admin,member,reader"}


def of_lease(fixture: dict[str, Any], lease_id: str) -> dict[str, Any]:
    changed = copy.deepcopy(fixture)
    changed["payload"]["lease_id"] = lease_id
    return changed


def leases(received: list[Received]) -> dict[str, Received]:
    return {r.headers["ce-leaseid"]: r for r in received}


def subscribe(client: FlaskClient, headers: dict[str, str], sink: str, **body: Any) -> str:
    response = client.post("/v1/subscriptions", json={"sink": sink, **body}, headers=headers)
    assert response.status_code == 201, response.json
    assert response.json is not None and not response.json.get("warnings")
    return str(response.json["id"])


def test_a_subscription_made_after_start_lease_gets_its_lease_state_and_nobody_elses(
    pipeline: Pipeline, notifier: BlazarNotifier, store: SubscriptionStore, sink: Sink
) -> None:
    started, other = START["payload"]["lease_id"], OTHER["payload"]["lease_id"]
    pending, deleted = "lease-pending", "lease-deleted"
    witness, _ = to_subscription(store, sink.url("witness"), project_id="*")
    pipeline.start("bridge")
    pipeline.start("broker")
    for message in (
        START,
        OTHER,
        of_lease(CREATE, pending),
        of_lease(CREATE, deleted),
        of_lease(DELETE, deleted),
    ):
        notifier.notify(message)
    # Live events reach a subscription that existed; by then the bridge wrote the states.
    pipeline.wait_for(sink, lambda r: len(sink.requests("/witness")) >= 5)

    api = create_app(
        settings(allowed_networks=["127.0.0.0/8"], request_interval_seconds=0), store=store
    ).test_client()
    # Subscribed after start_lease, to a type that will not come for a day: only the
    # snapshot can tell it its lease is active.
    mine = subscribe(
        api, MEMBER, sink.url("mine"), types=["lease.event.end_lease"], initial_state=True
    )
    everyone = subscribe(api, ADMIN, sink.url("admin"), project_id="*", initial_state=True)
    # Requests run one after the other: once the admin's snapshot is in, the member's is done.
    pipeline.wait_for(sink, lambda r: len(sink.requests("/admin")) >= 3)
    pipeline.wait_for(sink, lambda r: len(sink.requests("/mine")) >= 2)

    got = leases(sink.requests("/mine"))
    assert set(got) == {started, pending}  # not the other project's, not the deleted one
    assert len(sink.requests("/mine")) == 2
    assert set(leases(sink.requests("/admin"))) == {started, pending, other}
    state = got[started]
    assert state.event is not None and state.event.get_type() == SNAPSHOT_TYPE
    assert state.headers["ce-subscriptionid"] == mine
    assert state.headers["ce-leasestatus"] == "ACTIVE"
    data: Any = state.event.get_data()
    assert data["lease"]["status"] == "ACTIVE" and "trust_id" not in data["lease"]
    assert data["last_event"]["type"].endswith("lease.event.start_lease")
    assert all(r.headers["ce-subscriptionid"] == everyone for r in sink.requests("/admin"))

    # Asking again sends the same states under the same ids: a repeat is recognisable.
    first = {r.headers["webhook-id"] for r in sink.requests("/mine")}
    assert api.post(f"/v1/subscriptions/{mine}/snapshot", headers=MEMBER).status_code == 202
    pipeline.wait_for(sink, lambda r: len(sink.requests("/mine")) >= 4)
    assert {r.headers["webhook-id"] for r in sink.requests("/mine")} == first
    assert {r.headers["webhook-id"] for r in sink.requests("/witness")}.isdisjoint(first)
    assert not store.get(witness).status_reason
