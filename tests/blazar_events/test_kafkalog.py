"""librdkafka's repeated log lines are held back; the first of a kind, and news, are not."""

from __future__ import annotations

import logging

import pytest

from blazar_events.kafkalog import RepeatFilter, quiet_repeats

REFUSED = (
    "FAIL [rdkafka#producer-3] 127.0.0.1:9092/bootstrap: Connect to ipv4#127.0.0.1:9092"
    " failed: Connection refused (after %dms in state CONNECT)"
)
Logged = tuple[logging.Logger, RepeatFilter, pytest.LogCaptureFixture]


@pytest.fixture
def logged(
    caplog: pytest.LogCaptureFixture,
) -> tuple[logging.Logger, RepeatFilter, pytest.LogCaptureFixture]:
    logger = logging.getLogger("tests.kafkalog")
    quiet_repeats(logger)
    quiet_repeats(logger)  # once only
    [only] = [f for f in logger.filters if isinstance(f, RepeatFilter)]
    only.window = 3600.0
    caplog.set_level(logging.INFO, logger="tests.kafkalog")
    yield logger, only, caplog
    logger.removeFilter(only)


def test_a_flood_of_one_kind_becomes_one_line_then_a_count(
    logged: Logged,
) -> None:
    logger, repeats, caplog = logged
    for attempt in range(130):
        logger.error(REFUSED, attempt % 3)
    logger.warning("1/1 brokers are down")
    logger.error("a different failure")

    assert [r.getMessage()[:22] for r in caplog.records] == [
        "FAIL [rdkafka#producer",
        "1/1 brokers are down",
        "a different failure",
    ]
    repeats.window = 0.0  # the window is over: the next line of the kind says what was held
    logger.error(REFUSED, 0)
    assert (
        caplog.records[-1].getMessage().endswith("[129 similar line(s) held back before this one]")
    )


def test_what_it_remembers_is_bounded() -> None:
    repeats = RepeatFilter(window=3600.0)
    for n in range(10_000):
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, f"line {'x' * (n % 500)}", None, None
        )
        repeats.filter(record)
    assert len(repeats._seen) <= 256
