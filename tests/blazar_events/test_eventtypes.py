"""Blazar's event types and their CloudEvent names (Contract 1)."""

from __future__ import annotations

import pytest

from blazar_events import eventtypes


@pytest.mark.parametrize(
    "short",
    [*eventtypes.BLAZAR_EVENTS, "lease.event.some_new_event"],
)
def test_normalize_type_adds_the_prefix_once(short: str) -> None:
    full = eventtypes.normalize_type(short)
    assert full == eventtypes.TYPE_PREFIX + short
    assert eventtypes.normalize_type(full) == full
    assert eventtypes.short_type(full) == short
