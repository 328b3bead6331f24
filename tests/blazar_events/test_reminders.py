from datetime import UTC, datetime

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from blazar_events.matching import ADDRESS
from blazar_events.records import from_record, to_record
from blazar_events.reminders import REMINDER_PAYLOAD, REMINDER_TYPE, Reminders, to_reminder

LEASE = {"lease_id": "lease-1", "project_id": "project-a", "user_id": "u", "status": "ACTIVE",
         "start": datetime(2026, 7, 10, 12, tzinfo=UTC),
         "end": datetime(2026, 7, 12, 12, tzinfo=UTC)}  # fmt: skip


def test_a_reminder_is_addressed_matches_its_schema_and_survives_kafka() -> None:
    event = to_reminder(subscription_id="sub-1", lease=LEASE, kind="before_end", lead=3600,
                        source="/openstack/blazar/reminders")  # fmt: skip
    jsonschema.validate(event.get_data(), REMINDER_PAYLOAD)
    back = from_record(*_parts(to_record(event)))
    assert back.get_type() == REMINDER_TYPE
    assert back.get_extension(ADDRESS) == "sub-1"
    assert back.get_time() == datetime(2026, 7, 12, 11, tzinfo=UTC)
    assert back.get_data()["end_date"] == "2026-07-12T12:00:00.000000"


def _parts(record):  # type: ignore[no-untyped-def]
    return record.key, record.value, record.headers


def test_the_id_is_the_same_for_a_repeat_and_new_when_the_date_moves() -> None:
    def make(**lease: object) -> str:
        return to_reminder(subscription_id="s", lease={**LEASE, **lease}, kind="before_end",
                           lead=60, source="/s").get_id()  # fmt: skip

    assert make() == make(status="UPDATING")
    assert make() != make(end=datetime(2026, 7, 13, 12, tzinfo=UTC))


@given(st.lists(st.text(max_size=40), max_size=8))
def test_any_lead_list_is_either_valid_and_bounded_or_refused(leads: list[str]) -> None:
    try:
        reminders = Reminders(before_end=leads)
    except ValueError:
        return
    seconds = [n for _, n in reminders.leads()]
    assert len(seconds) <= 5 and len(set(seconds)) == len(seconds)
    assert all(1 <= n <= 366 * 86400 for n in seconds)


@pytest.mark.parametrize("text", ["PT0S", "PT-1S", "P1Y", "PT1.5S", "P367D", "PT", "", "1H"])
def test_lead_times_out_of_bounds_or_not_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Reminders(before_start=[text])
