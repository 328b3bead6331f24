"""Steps that must happen (a retry scheduled, a lease parked, a dead letter published):
retried while Redis or Kafka is unreachable, so an outage delays settling (and the commit)
but loses nothing. Any other exception is a bug or a hostile input, and retrying it would
loop forever: it is raised."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

FIRST_DELAY = 0.2
MAX_DELAY = 5.0


class Durably:
    def __init__(
        self, transient: tuple[type[BaseException], ...], stopping: Callable[[], bool]
    ) -> None:
        self.transient = transient
        self.stopping = stopping  # once True, an outage ends the step (it is redelivered)

    async def __call__(self, step: Callable[[], Awaitable[T]]) -> T:
        delay = FIRST_DELAY
        while True:
            try:
                return await step()
            except self.transient as exc:  # Redis or Kafka unreachable: wait, never drop
                if self.stopping():
                    raise
                log.warning("retrying in %.1f s after: %s: %s", delay, type(exc).__name__, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_DELAY)
