"""Generated hostile filters against generated hostile events: every filter is refused at
compile time with an InvalidFilter (the API's 400), or compiles and then returns a bool on
every event — never another exception, never a huge string or a deep stack."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blazar_events.errors import InvalidFilter
from blazar_events.filters import from_expression
from tests.blazar_events.filters.hostile import events, hostile_sql, json_filters

SLOW_DATA = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def verdicts(expression: Any, samples: list[dict[str, Any]]) -> list[bool] | None:
    try:
        match = from_expression(expression)
    except InvalidFilter as exc:
        assert exc.code == 400 and exc.message
        return None
    # A FilterError here would be a defect of ours: the budget admits only what runs.
    return [match(event) for event in samples]


@settings(max_examples=300, suppress_health_check=SLOW_DATA, deadline=None)
@given(hostile_sql, st.lists(events, min_size=1, max_size=3))
def test_a_hostile_sql_filter_is_refused_or_evaluates_to_a_bool(
    text: str, samples: list[dict[str, Any]]
) -> None:
    result = verdicts({"sql": text}, samples)
    assert result is None or all(isinstance(verdict, bool) for verdict in result)


@settings(max_examples=100, suppress_health_check=SLOW_DATA, deadline=None)
@given(json_filters, st.lists(events, min_size=1, max_size=3))
def test_a_hostile_filter_object_is_refused_or_evaluates_to_a_bool(
    expression: dict[str, Any], samples: list[dict[str, Any]]
) -> None:
    result = verdicts(expression, samples)
    assert result is None or all(isinstance(verdict, bool) for verdict in result)
