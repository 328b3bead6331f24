import time
from typing import Any

from blazar_events.status_reasons import to_reason
from blazar_events.subscription import Subscription, from_input, new_id

BASE: dict[str, Any] = {"sink": "https://hooks.example.org/blazar"}


def test_replace_keeps_identity_and_status_unless_asked() -> None:
    sub = Subscription.from_input(from_input(BASE), project_id="p1")
    disabled = sub.model_copy(update={"status": "DISABLED", "status_reason": "410 Gone"})
    replaced = disabled.replaced_by(from_input({**BASE, "name": "n"}), project_id="p1")
    assert (replaced.id, replaced.status, replaced.name) == (sub.id, "DISABLED", "n")
    enabled = disabled.replaced_by(from_input({**BASE, "status": "ACTIVE"}), project_id="p1")
    assert enabled.status == "ACTIVE" and enabled.status_reason is None


def test_to_input_round_trips() -> None:
    sub = Subscription.from_input(
        from_input({**BASE, "types": ["lease.create"], "filters": [{"exact": {"a": "b"}}]}),
        project_id="p1",
    )
    again = Subscription.from_input(from_input(sub.to_input()), project_id="p1", id=sub.id)
    assert again.model_dump(exclude={"created_at", "updated_at"}) == sub.model_dump(
        exclude={"created_at", "updated_at"}
    )


def test_ids_sort_by_creation_and_are_uuids() -> None:
    ids = [new_id() for _ in range(5000)]
    assert len(set(ids)) == 5000 and ids == sorted(ids)
    assert all(len(i) == 36 and i[14] == "7" for i in ids)
    time.sleep(0.002)  # the next millisecond
    assert max(ids) < new_id()


def test_new_filters_take_away_a_reason_the_old_ones_left_and_nothing_else() -> None:
    base = Subscription.from_input(
        from_input({"sink": "https://hooks.example.org/", "filters": [{"prefix": {"type": "o"}}]}),
        project_id="p1",
    )
    failed = base.model_copy(update={"status_reason": to_reason("match", ValueError("x"))})
    same = from_input(
        {"sink": "https://hooks.example.org/", "filters": [{"prefix": {"type": "o"}}]}
    )
    new = from_input({"sink": "https://hooks.example.org/", "filters": [{"prefix": {"type": "x"}}]})
    assert failed.replaced_by(new, project_id="p1").status_reason is None
    assert failed.replaced_by(same, project_id="p1").status_reason == failed.status_reason
    delivering = base.model_copy(update={"status_reason": to_reason("deliver", OSError("x"))})
    assert delivering.replaced_by(new, project_id="p1").status_reason == delivering.status_reason
