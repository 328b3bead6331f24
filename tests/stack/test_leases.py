"""How the stack's demo and tests ask Blazar for a lease (pure): whole minutes, and the
`openstack` command a developer can paste."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stack.leases import create_command, next_minute


def test_the_start_is_the_next_whole_minute_far_enough_ahead() -> None:
    before = datetime.now(UTC).replace(tzinfo=None)
    start = next_minute(timedelta(seconds=90))
    assert start.tzinfo is None and (start.second, start.microsecond) == (0, 0)
    assert before + timedelta(seconds=90) < start <= before + timedelta(seconds=90 + 61)


def test_the_create_command_names_the_reservation_and_dates_as_blazar_reads_them() -> None:
    start = datetime(2026, 7, 10, 12, 0)
    command = create_command("openstack", "demo", start, start + timedelta(hours=1))
    assert command.startswith("openstack reservation lease create --reservation ")
    assert "resource_type=virtual:instance,amount=1," in command
    assert "resource_properties" not in command  # empty values are left out
    assert command.endswith("--start-date '2026-07-10 12:00' --end-date '2026-07-10 13:00' demo")
