"""The demo's sample notifications: one lease's life in Blazar's order, plus a lease of
another project, each a valid Blazar notification the bridge translates."""

from __future__ import annotations

from blazar_events import events
from stack.samples import DEMO_PROJECT, LIFE, OTHER_PROJECT, notifications


def message(event_type: str, payload: dict[str, object]) -> dict[str, object]:
    return {"event_type": event_type, "payload": payload, "publisher_id": "blazar.lease",
            "priority": "INFO", "message_id": "m",
            "timestamp": "2026-07-10 12:00:00.000000"}  # fmt: skip


def test_one_lease_lives_in_order_and_another_project_interleaves() -> None:
    sent = notifications()
    mine = [(t, p) for t, p in sent if p["project_id"] == DEMO_PROJECT]
    assert [t for t, _ in mine] == list(LIFE)
    assert len({p["lease_id"] for _, p in mine}) == 1
    assert [p["status"] for _, p in mine] == ["PENDING", "ACTIVE", "ACTIVE", "TERMINATED"]
    (other,) = [p for _, p in sent if p["project_id"] == OTHER_PROJECT]
    assert other["lease_id"] != mine[0][1]["lease_id"]


def test_each_translates_and_the_trust_never_reaches_the_event() -> None:
    for event_type, payload in notifications():
        assert payload["trust_id"]
        event = events.to_cloudevent(message(event_type, payload))
        assert event is not None
        assert event.get_extension("projectid") == payload["project_id"]
        assert event.get_type().endswith(event_type)
        assert "trust_id" not in str(event.get_data())
