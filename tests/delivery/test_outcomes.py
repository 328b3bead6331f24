"""Contract 3's classification of a sink's answer."""

from __future__ import annotations

import email.utils

import pytest

from delivery import outcomes
from delivery.outcomes import Delivered, Gone, PermanentFailure, Retry


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_is_delivered(status: int) -> None:
    assert outcomes.from_status(status) == Delivered(status)


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 599])
def test_408_409_429_and_5xx_are_retried(status: int) -> None:
    outcome = outcomes.from_status(status)
    assert isinstance(outcome, Retry)
    assert outcome.status == status


def test_410_is_gone() -> None:
    assert isinstance(outcomes.from_status(410), Gone)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 413, 422, 301, 302, 100])
def test_other_answers_fail_for_good(status: int) -> None:
    outcome = outcomes.from_status(status)
    assert isinstance(outcome, PermanentFailure)
    assert str(status) in outcome.error


def test_retry_after_in_seconds_is_honoured_and_capped() -> None:
    assert outcomes.from_status(429, "7", cap=60) == Retry("the sink answered 429", 429, 7.0)
    capped = outcomes.from_status(503, "86400", cap=60)
    assert isinstance(capped, Retry) and capped.after == 60.0


def test_retry_after_as_an_http_date() -> None:
    now = 1_800_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert outcomes.from_retry_after(date, cap=300, now=now) == pytest.approx(30.0)
    assert outcomes.from_retry_after(email.utils.formatdate(now - 30, usegmt=True), 300, now) == 0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5e9x"])
def test_an_unreadable_retry_after_is_ignored(value: str | None) -> None:
    assert outcomes.from_retry_after(value, cap=300) is None
