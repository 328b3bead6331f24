"""The words of a subscription's status_reason (blazar_events/status_reasons.py), shared by
the broker and the function."""

from __future__ import annotations

from blazar_events.status_reasons import MAX_REASON, is_match_failure, to_reason


def test_a_reason_names_the_stage_and_the_error_and_stays_bounded() -> None:
    assert to_reason("match", ValueError("bad")) == (
        "its filters could not be evaluated: ValueError: bad"
    )
    long = to_reason("deliver", ValueError("x" * 10_000))
    assert len(long) == MAX_REASON and long.startswith("delivering failed: ValueError: x")


def test_only_a_filters_reason_is_a_match_failure() -> None:
    assert is_match_failure(to_reason("match", KeyError("k")))
    assert not is_match_failure(to_reason("deliver", OSError("refused")))
    assert not is_match_failure(None) and not is_match_failure("")
