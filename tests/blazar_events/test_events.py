"""The Blazar -> CloudEvent translation, on every fixture (Contract 1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from blazar_events import events
from blazar_events.errors import NotificationRejected
from tests.blazar_events.conftest import FIXTURES, MALFORMED, SECRETS, inner, malformed_body

BLAZAR = sorted(p for p in FIXTURES.glob("*.json") if p.name.startswith(("v2-", "legacy-", "v1-")))


def keys_anywhere(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_anywhere(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_anywhere(v)}
    return set()


def test_fixture_set_covers_both_drivers_and_payload_generations() -> None:
    names = {p.name for p in BLAZAR}
    assert "v1-lease.event.end_lease.json" in names
    for event_type in events.BLAZAR_EVENT_TYPES:
        assert f"v2-{event_type}.json" in names
        assert f"legacy-{event_type}.json" in names


@pytest.mark.parametrize("path", BLAZAR, ids=lambda p: p.name)
def test_every_blazar_fixture_becomes_a_contract_1_event(path: Path) -> None:
    message = inner(path)
    payload = message["payload"]

    event = events.to_cloudevent(events.from_body(path.read_bytes()))

    assert event is not None
    attributes = event.get_attributes()
    assert attributes["specversion"] == "1.0"
    assert attributes["id"] == message["message_id"]
    assert attributes["source"] == "/openstack/blazar/blazar.lease"
    assert attributes["type"] == "org.openstack.blazar." + message["event_type"]
    assert attributes["subject"] == payload["lease_id"]
    naive = datetime.strptime(message["timestamp"], "%Y-%m-%d %H:%M:%S.%f")
    assert attributes["time"] == naive.replace(tzinfo=UTC)
    assert attributes["datacontenttype"] == "application/json"
    assert attributes["projectid"] == payload["project_id"]
    assert attributes["userid"] == payload["user_id"]
    assert attributes["leaseid"] == payload["lease_id"]
    assert attributes["partitionkey"] == payload["lease_id"]
    if "status" in payload:
        assert attributes["leasestatus"] == payload["status"]
    else:  # the five-field legacy payload has no status: say nothing rather than guess
        assert "leasestatus" not in attributes
    expected_data = {k: v for k, v in payload.items() if k != "trust_id"}
    assert event.get_data() == expected_data
    assert "trust_id" not in keys_anywhere(event.get_data())
    assert not any(k.startswith("_context_") for k in keys_anywhere(event.get_data()))
    assert not any(s in json.dumps(event.get_data()) for s in SECRETS)


def test_the_fake_token_fixture_is_the_one_with_a_token() -> None:
    # Guards the previous test: at least one fixture really carries a token to drop.
    assert inner(FIXTURES / "v2-lease.create.json")["_context_auth_token"].startswith("gAAAA")


def test_an_unknown_future_event_type_still_flows_with_its_derived_type() -> None:
    path = FIXTURES / "v2-future-lease.event.some_new_event.json"
    event = events.to_cloudevent(events.from_body(path.read_bytes()))
    assert event is not None
    assert event.get_type() == "org.openstack.blazar.lease.event.some_new_event"


def test_a_nova_notification_is_ignored_not_rejected() -> None:
    path = FIXTURES / "foreign-nova-compute.instance.create.end.json"
    assert events.to_cloudevent(events.from_body(path.read_bytes())) is None


def test_the_selection_is_configurable() -> None:
    nova = events.from_body(
        (FIXTURES / "foreign-nova-compute.instance.create.end.json").read_bytes()
    )
    lease = inner(FIXTURES / "v2-lease.create.json")
    only_types = events.Selection(publisher_prefixes=(), type_prefixes=("lease.",))
    assert only_types.selects(lease)
    assert not only_types.selects(nova)
    assert not events.Selection(("other.",), ()).selects(lease)
    assert events.Selection((), ()).selects(nova)


def test_the_source_prefix_is_configurable_per_cloud() -> None:
    message = inner(FIXTURES / "v2-lease.update.json")
    event = events.to_cloudevent(message, source_prefix="/openstack/region-two/blazar/")
    assert event is not None
    assert event.get_source() == "/openstack/region-two/blazar/blazar.lease"


EXPECTED_REASONS = {
    "not-json": "not-json",
    "envelope-inner-not-json": "invalid-envelope",
    "missing-event-type": "missing-event-type",
    "payload-not-object": "invalid-payload",
    "missing-lease-id": "missing-lease-id",
    "bad-timestamp": "invalid-timestamp",
    "unknown-oslo-version": "unsupported-envelope",
    "event-type-not-string": "invalid-event-type",
}


def test_every_malformed_fixture_has_an_expected_reason() -> None:
    assert set(MALFORMED) == set(EXPECTED_REASONS)


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_every_malformed_fixture_is_rejected_with_its_reason(name: str) -> None:
    with pytest.raises(NotificationRejected) as caught:
        events.to_cloudevent(events.from_body(malformed_body(name)))
    assert caught.value.reason == EXPECTED_REASONS[name]
    assert caught.value.message  # a sentence for the operator, not just the tag


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe{not utf-8", "not-utf8"),
        (b"[1, 2, 3]", "not-json"),
        (b'{"oslo.version": "2.0", "oslo.message": 42}', "invalid-envelope"),
    ],
)
def test_undecodable_bodies_are_rejected(body: bytes, reason: str) -> None:
    with pytest.raises(NotificationRejected) as caught:
        events.from_body(body)
    assert caught.value.reason == reason


def test_an_oversized_body_is_rejected_before_parsing() -> None:
    body = (FIXTURES / "v2-lease.create.json").read_bytes()
    with pytest.raises(NotificationRejected) as caught:
        events.from_body(body, max_bytes=len(body) - 1)
    assert caught.value.reason == "too-large"
    assert events.from_body(body, max_bytes=len(body))["event_type"] == "lease.create"


@pytest.mark.parametrize("path", BLAZAR, ids=lambda p: p.name)
def test_parsing_a_body_drops_every_secret_at_once(path: Path) -> None:
    message = events.from_body(path.read_bytes())
    assert "trust_id" not in keys_anywhere(message)
    assert not any(k.startswith("_context_") for k in keys_anywhere(message))
    assert message["message_id"] == inner(path)["message_id"]


def test_nested_secrets_are_dropped_from_data() -> None:
    message = inner(FIXTURES / "v2-lease.create.json")
    message["payload"]["reservations"][0]["trust_id"] = "nested-trust"
    message["payload"]["events"][0]["_context_auth_token"] = "nested-token"
    event = events.to_cloudevent(message)
    assert event is not None
    data = event.get_data()
    assert isinstance(data, dict)
    text = json.dumps(data)
    assert "nested-trust" not in text
    assert "nested-token" not in text
    assert data["reservations"][0]["id"] == message["payload"]["reservations"][0]["id"]


def test_an_aware_or_whole_second_timestamp_is_normalised_to_utc() -> None:
    assert events.from_oslo_timestamp("2026-07-10 12:00:08") == datetime(
        2026, 7, 10, 12, 0, 8, tzinfo=UTC
    )
    assert events.from_oslo_timestamp("2026-07-10T14:00:08+02:00") == datetime(
        2026, 7, 10, 12, 0, 8, tzinfo=UTC
    )


def test_a_missing_project_is_rejected_because_tenant_isolation_needs_it() -> None:
    message = inner(FIXTURES / "v2-lease.create.json")
    del message["payload"]["project_id"]
    with pytest.raises(NotificationRejected) as caught:
        events.to_cloudevent(message)
    assert caught.value.reason == "missing-project-id"


def test_an_event_type_that_is_not_a_dotted_name_is_rejected() -> None:
    message = inner(FIXTURES / "v2-lease.create.json")
    message["event_type"] = "lease create; drop"
    with pytest.raises(NotificationRejected) as caught:
        events.to_cloudevent(message)
    assert caught.value.reason == "invalid-event-type"


@pytest.mark.parametrize(
    "where",
    [
        lambda m: m["payload"]["reservations"][0],
        lambda m: m["payload"]["events"][2],
        lambda m: m["payload"],
    ],
)
@pytest.mark.parametrize("key", ["trust_id", "_context_auth_token", "\\u0074rust_id"])
def test_a_secret_anywhere_in_a_body_never_survives_parsing(where: Any, key: str) -> None:
    message = inner(FIXTURES / "v2-lease.create.json")
    where(message)["__planted__"] = "planted-secret"
    text = json.dumps(message).replace('"__planted__"', f'"{key}"')
    body = json.dumps({"oslo.version": "2.0", "oslo.message": text}).encode()
    parsed = events.from_body(body)
    assert "planted-secret" not in json.dumps(parsed)
    assert parsed["payload"]["lease_id"] == message["payload"]["lease_id"]


def test_a_value_that_looks_like_a_secret_key_is_kept() -> None:
    message = inner(FIXTURES / "v2-lease.create.json")
    message["payload"]["name"] = "trust_id"
    parsed = events.from_body(json.dumps(message).encode())
    assert parsed["payload"]["name"] == "trust_id"
    assert "trust_id" not in parsed["payload"]
