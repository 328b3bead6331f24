"""Blazar's notifications reach exactly the subscribers allowed to see them, signed."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

from blazar_events.store import SubscriptionStore
from stack.sink import Sink
from tests.bridge.conftest import blazar_fixtures
from tests.delivery.conftest import to_subscription
from tests.e2e.conftest import BlazarNotifier, Pipeline, fixture_message

START_TYPE = "org.openstack.blazar.lease.event.start_lease"


def test_each_subscriber_gets_exactly_what_its_project_and_filters_allow(
    pipeline: Pipeline, notifier: BlazarNotifier, store: SubscriptionStore, sink: Sink
) -> None:
    messages = {name: fixture_message(name) for name in blazar_fixtures()}
    other = fixture_message("v2-other-project-lease.event.start_lease.json")
    project = messages["v2-lease.event.start_lease.json"]["payload"]["project_id"]
    other_project = other["payload"]["project_id"]
    lease = messages["v2-lease.event.start_lease.json"]["payload"]["lease_id"]
    assert project != other_project

    secrets = {}
    for path, fields in {
        "member": {"project_id": project},
        "starts": {"project_id": project, "types": [START_TYPE]},
        "lease": {"project_id": project, "lease_id": lease,
                  "filters": [{"suffix": {"type": "_lease"}}]},
        "neighbour": {"project_id": other_project},
        "admin": {"project_id": "*"},
    }.items():  # fmt: skip
        _, secrets[path] = to_subscription(store, sink.url(path), **fields)
        sink.verify_with(path, secrets[path])
    pipeline.start("bridge")
    pipeline.start("broker")

    for name in sorted(messages):
        notifier.notify(messages[name])

    expected = {path: _count(messages, path, project, lease, other_project) for path in secrets}
    with contextlib.suppress(AssertionError):  # the comparison below says what is missing
        pipeline.wait_for(sink, lambda r: len(r) >= sum(expected.values()), timeout=60)
    time.sleep(1.0)  # catch anything extra
    assert {path: len(sink.requests(path)) for path in secrets} == expected

    for path in secrets:
        got = sink.requests(path)
        assert all(r.verified for r in got), [r.error for r in got]
        assert all(r.event is not None for r in got)
        assert all(b"trust_id" not in r.body and b"_context_" not in r.body for r in got)
        assert len(got) == _count(messages, path, project, lease, other_project), path
        types = {str(r.event.get_type()) for r in got if r.event}
        assert all(t.startswith("org.openstack.blazar.lease.") for t in types)
    neighbour_leases = {json.loads(r.body)["lease_id"] for r in sink.requests("neighbour")}
    assert neighbour_leases == {other["payload"]["lease_id"]}
    member_projects = {str(r.event.get_extension("projectid"))
                       for r in sink.requests("member") if r.event}  # fmt: skip
    assert member_projects == {project}


def _count(messages: dict[str, Any], path: str, project: str, lease: str, other: str) -> int:
    n = 0
    for message in messages.values():
        payload, event_type = message["payload"], message["event_type"]
        if path == "admin":
            n += 1
        elif path == "neighbour":
            n += payload["project_id"] == other
        elif payload["project_id"] != project:
            continue
        elif path == "member":
            n += 1
        elif path == "starts":
            n += event_type == "lease.event.start_lease"
        elif path == "lease":
            n += payload["lease_id"] == lease and event_type.endswith("_lease")
    return n
