"""The delivery spec: Knative's durations and backoff, as a subscription carries them."""

from __future__ import annotations

import pytest

from blazar_events.delivery_spec import DeliverySpec, from_iso_duration


@pytest.mark.parametrize(
    ("text", "seconds"), [("PT0.2S", 0.2), ("PT1M", 60), ("PT1H30M", 5400), ("P1D", 86400)]
)
def test_iso_durations(text: str, seconds: float) -> None:
    assert from_iso_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["P", "PT", "1S", "PT-1S", "P1Y", "PT1S "])
def test_bad_iso_durations(text: str) -> None:
    with pytest.raises(ValueError):
        from_iso_duration(text)


def test_delivery_backoff_follows_knative() -> None:
    exponential = DeliverySpec(backoffDelay="PT0.5S", backoffPolicy="exponential")
    linear = DeliverySpec(backoffDelay="PT0.5S", backoffPolicy="linear")
    assert [exponential.backoff_for(n) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert [linear.backoff_for(n) for n in (1, 2, 3)] == [0.5, 1.0, 1.5]
    assert exponential.timeout_seconds == 10.0
