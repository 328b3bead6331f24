"""How answers are shown in a terminal and to machines (pure)."""

from __future__ import annotations

from blazar_events_client.osc.views import JsonColumn, headings, to_rows, to_show

RECORD = {"id": "s-1", "types": ["a", "b"], "filters": [{"exact": {"type": "x"}}],
          "delivery": {"retry": 3}, "secret": "whsec_x", "name": None}  # fmt: skip


def test_a_secret_is_shown_only_when_asked_for() -> None:
    names, _ = to_show(RECORD)
    assert names == ("delivery", "filters", "id", "name", "types")
    with_secret, values = to_show(RECORD, with_secret=True)
    assert dict(zip(with_secret, values, strict=True))["secret"] == "whsec_x"


def test_structured_fields_read_as_text_in_tables_and_stay_values_for_machines() -> None:
    names, values = to_show(RECORD)
    shown = dict(zip(names, values, strict=True))
    assert shown["id"] == "s-1" and shown["name"] is None
    assert shown["types"].human_readable() == "a\nb"
    assert shown["filters"].human_readable() == '[{"exact": {"type": "x"}}]'
    assert shown["delivery"].machine_readable() == {"retry": 3}
    assert JsonColumn(None).human_readable() == ""


def test_rows_follow_the_fields_and_missing_ones_are_empty() -> None:
    (row,) = to_rows([RECORD], ["id", "types", "absent"])
    assert row[0] == "s-1" and row[1].machine_readable() == ["a", "b"] and row[2] is None


def test_headings_are_titled_as_openstack_titles_them() -> None:
    assert headings(["id", "lease_id", "latency_ms", "status_code"]) == (
        "ID", "Lease ID", "Latency (ms)", "Status Code",
    )  # fmt: skip
