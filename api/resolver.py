"""Sink host names resolved off the request thread, within a budget per request.

``getaddrinfo`` cannot be interrupted, and a request of the lease route may name up to 64
sinks: with a slow or hostile DNS server, resolving them in the request thread held one of
the API's few gunicorn workers for minutes. Here every name is resolved in a small shared
pool; the request waits for all of them together at most ``budget`` seconds, and a name
that has not answered by then is treated exactly like a name that does not resolve. The
pool and the number of names waiting for it are bounded, so a stalled DNS server costs
each request its budget and nothing more.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from blazar_events.errors import SinkRefused

T = TypeVar("T")


class Resolver:
    def __init__(self, threads: int = 8, max_waiting: int = 256) -> None:
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="sink-resolver")
        self._slots = threading.BoundedSemaphore(threads + max_waiting)

    def run_all(self, calls: Sequence[Callable[[], T]], budget: float) -> list[T | BaseException]:
        """Each call's result or exception; a call that did not finish within ``budget``
        seconds (all calls together), or found the pool full, gets a ``SinkRefused`` with
        rule ``resolve``."""
        deadline = time.monotonic() + budget
        futures: list[Future[T] | None] = []
        for call in calls:
            if not self._slots.acquire(blocking=False):
                futures.append(None)
                continue
            future = self._pool.submit(call)
            future.add_done_callback(lambda _f: self._slots.release())
            futures.append(future)
        results: list[T | BaseException] = []
        for pending in futures:
            if pending is None:
                results.append(_late("the resolver is busy"))
                continue
            try:
                results.append(pending.result(timeout=max(0.0, deadline - time.monotonic())))
            except TimeoutError:
                pending.cancel()  # not started yet: never started; started: runs out alone
                results.append(_late(f"no answer within {budget:g} s"))
            except Exception as exc:
                results.append(exc)
        return results


def _late(why: str) -> SinkRefused:
    return SinkRefused(f"the sink host did not resolve: {why} (rule=resolve)", rule="resolve")
