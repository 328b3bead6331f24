"""A step that must happen: retried through an outage, never through a bug. Pure logic."""

from __future__ import annotations

import asyncio

import pytest
import redis.exceptions

from broker import durable
from broker.durable import Durably

TRANSIENT = (redis.exceptions.RedisError, OSError)


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(durable, "FIRST_DELAY", 0.001)


def steps(*script: Exception | str) -> tuple[list[str], object]:
    calls: list[str] = []
    queue = list(script)

    async def step() -> str:
        calls.append("call")
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return calls, step


def test_an_outage_is_waited_out_and_the_value_returned() -> None:
    outage = redis.exceptions.ConnectionError("down")
    calls, step = steps(outage, OSError("refused"), "done")
    got = asyncio.run(Durably(TRANSIENT, lambda: False)(step))  # type: ignore[arg-type]
    assert got == "done" and len(calls) == 3


def test_a_bug_is_raised_at_once() -> None:
    calls, step = steps(ValueError("hostile"), "never")
    with pytest.raises(ValueError):
        asyncio.run(Durably(TRANSIENT, lambda: False)(step))  # type: ignore[arg-type]
    assert len(calls) == 1


def test_an_outage_while_stopping_ends_the_step() -> None:
    calls, step = steps(OSError("refused"), "never")
    with pytest.raises(OSError):
        asyncio.run(Durably(TRANSIENT, lambda: True)(step))  # type: ignore[arg-type]
    assert len(calls) == 1
