"""Every long-lived task of the broker runs under supervision: one that crashes (or ends,
which a long-lived task never should) is logged, counted, shown as failing in ``/healthz`` and
the metrics, and started again after a backoff that doubles up to a cap.

A task counts as failing from its crash until it has run ``stable_after`` seconds without
crashing again; one crashing over and over stays failing, so the pod's probe sees it.
Blocking loops (kafka-python, redis-py followers) run in a thread of their own through
:func:`in_thread`, supervised the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from broker.metrics import BrokerMetrics

log = logging.getLogger(__name__)
T = TypeVar("T")

FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0
STABLE_AFTER = 30.0


@dataclass
class TaskState:
    name: str
    crashes: int = 0  # in a row: back to 0 once the task ran STABLE_AFTER seconds
    error: str | None = None
    started_at: float = 0.0
    restarting: bool = False

    def failing(self, now: float, stable_after: float) -> bool:
        if self.crashes == 0:
            return False
        return self.restarting or now - self.started_at < stable_after

    def describe(self, now: float, stable_after: float) -> str:
        if not self.failing(now, stable_after):
            return "ok"
        state = "restarting" if self.restarting else "restarted"
        return f"{state} after {self.crashes} crash(es): {self.error}"


def to_backoff(crashes: int, first: float = FIRST_BACKOFF, cap: float = MAX_BACKOFF) -> float:
    """Seconds before the restart that follows ``crashes`` crashes in a row."""
    return min(cap, first * 2.0 ** min(max(crashes - 1, 0), 30))


class Supervisor:
    def __init__(
        self,
        metrics: BrokerMetrics | None = None,
        first_backoff: float = FIRST_BACKOFF,
        max_backoff: float = MAX_BACKOFF,
        stable_after: float = STABLE_AFTER,
    ) -> None:
        self.metrics = metrics
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.stable_after = stable_after
        self.states: dict[str, TaskState] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stopping = False

    def start(self, name: str, run: Callable[[], Awaitable[object]]) -> None:
        """Run ``run()`` as task ``name``, again after each crash."""
        self.states[name] = TaskState(name)
        if self.metrics is not None:
            self.metrics.task_failing.labels(name).set(0)
        self._tasks[name] = asyncio.get_running_loop().create_task(self._keep(name, run), name=name)

    async def _keep(self, name: str, run: Callable[[], Awaitable[object]]) -> None:
        state = self.states[name]
        while True:
            state.started_at = time.monotonic()
            state.restarting = False
            try:
                await run()
                if self._stopping:
                    return
                error = "it ended by itself"
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._stopping:
                    return
                error = f"{type(exc).__name__}: {exc}"
                log.exception("task %s crashed", name)
            if self.metrics is not None:  # before the state: whoever sees it failing, sees both
                self.metrics.task_restarts.labels(name).inc()
                self.metrics.task_failing.labels(name).set(1)
            if time.monotonic() - state.started_at >= self.stable_after:
                state.crashes = 0  # it had recovered: this is a new series
            state.crashes += 1
            state.error = error[:300]
            state.restarting = True
            delay = to_backoff(state.crashes, self.first_backoff, self.max_backoff)
            log.warning("task %s restarts in %.1f s (%s)", name, delay, state.error)
            await asyncio.sleep(delay)

    def failing(self) -> dict[str, str]:
        """The tasks crashed and not yet stable again, with why (empty: all well)."""
        now = time.monotonic()
        result = {}
        for name, state in self.states.items():
            if state.failing(now, self.stable_after):
                result[name] = state.describe(now, self.stable_after)
            elif self.metrics is not None and state.crashes:
                self.metrics.task_failing.labels(name).set(0)
        return result

    async def stop(self) -> None:
        """Cancel every task (after their own stop signals, for threads)."""
        self._stopping = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def wait_ended(self, names: list[str], timeout: float) -> None:
        """Let tasks told to stop (threads) end by themselves, up to ``timeout``."""
        self._stopping = True
        tasks = [self._tasks[n] for n in names if n in self._tasks]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)


def in_thread(name: str, run: Callable[[], T]) -> Awaitable[T]:
    """Run a blocking loop in a daemon thread of its own; the awaitable ends with it.

    Not the default executor: these loops run for the process's life and would take its
    few workers from the short blocking calls (store reads) that need them.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)  # type: ignore[arg-type]

    def body() -> None:
        try:
            result = run()
        except BaseException as exc:  # handed to the supervisor, which logs and restarts
            with contextlib.suppress(RuntimeError):  # the loop closed first (process exit)
                loop.call_soon_threadsafe(settle, None, exc)
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, result, None)

    threading.Thread(target=body, name=name, daemon=True).start()
    return done
