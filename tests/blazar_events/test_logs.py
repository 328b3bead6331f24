"""Every component's logs: JSON lines a log shipper can parse, or text for a terminal."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


NAMES = st.from_regex(r"[a-z]{1,8}", fullmatch=True)


@given(message=st.text(), extra=st.dictionaries(NAMES, st.text()))
def test_whatever_a_message_holds_its_record_is_one_json_line(
    message: str, extra: dict[str, str]
) -> None:
    """Messages carry what tenants and bus producers wrote (sinks, event ids, errors)."""
    reserved = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
    extra = {key: value for key, value in extra.items() if key not in reserved}
    record = logging.makeLogRecord({"name": "t", "levelname": "INFO", "msg": message, **extra})
    line = logs.JsonFormatter().format(record)
    assert "\n" not in line and "\r" not in line
    entry = json.loads(line)
    assert entry["message"] == message
    assert {key: entry[key] for key in extra} == extra
