"""Every component's logs: JSON lines a log shipper can parse, or text for a terminal."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from blazar_events import logs


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def test_json_lines_carry_the_fields_and_the_extras(capfd: pytest.CaptureFixture[str]) -> None:
    logs.configure("info", "json")
    logging.getLogger("broker.lanes").warning("slow sink %s", "s1", extra={"subscription": "s1"})
    logging.getLogger("broker.lanes").debug("not shown at INFO")
    lines = capfd.readouterr().err.splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["level"] == "WARNING" and entry["logger"] == "broker.lanes"
    assert entry["message"] == "slow sink s1" and entry["subscription"] == "s1"


def test_a_hostile_message_stays_one_json_line(capfd: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO", "json")
    logging.getLogger("api").info('sink "x"\n{"level": "ERROR"}\r\x00')
    lines = capfd.readouterr().err.splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["message"] == 'sink "x"\n{"level": "ERROR"}\r\x00'


def test_text_for_a_terminal(capfd: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO", "text")
    logging.getLogger("functions.service").info("listening")
    assert "INFO functions.service: listening" in capfd.readouterr().err
