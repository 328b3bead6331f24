"""The seeded fault schedule and its timeline.

Spread over the publishing window: SIGKILL and restart of each component (bridge, the two
broker processes, the API, the function service), restarts of Redis, RabbitMQ and Kafka
(stop, then start and wait until it answers), one subscriber down for a while, one secret
rotation and one subscription update. One Redis restart is placed while the downed
subscriber's retries are due; every Kafka restart falls while the bridge produces.
"""

from __future__ import annotations

import contextlib
import fcntl
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

COMPONENTS = ("bridge", "broker-1", "broker-2", "api", "function")
SERVICES = ("redis", "rabbitmq", "kafka")


@dataclass(frozen=True)
class Fault:
    at: float  # seconds after the start of publishing
    kind: str  # kill | restart | sink-down | rotate | update
    target: str


@dataclass
class Entry:
    started: float  # seconds after the start of publishing
    ended: float
    what: str
    detail: str = ""


@dataclass
class Timeline:
    origin: float
    entries: list[Entry] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, started: float, what: str, detail: str = "") -> None:
        now = time.time() - self.origin
        with self.lock:
            self.entries.append(Entry(started - self.origin, now, what, detail))


def schedule(
    seed: int,
    duration: float,
    kills: int,
    service_restarts: int,
    sink_down: float,
    sink_name: str,
) -> list[Fault]:
    """The faults, in time order, inside [10 %, 85 %] of the publishing window."""
    rng = random.Random(seed)
    faults: list[tuple[str, str]] = [("kill", c) for c in COMPONENTS for _ in range(kills)]
    faults += [("restart", s) for s in SERVICES for _ in range(service_restarts)]
    faults += [("rotate", "b-all"), ("update", "a-start")]
    rng.shuffle(faults)
    start, end = 0.10 * duration, 0.85 * duration
    slot = (end - start) / max(len(faults), 1)
    planned = [
        Fault(start + i * slot + rng.uniform(0, slot * 0.5), kind, target)
        for i, (kind, target) in enumerate(faults)
    ]
    if sink_down > 0:
        down_at = start + rng.uniform(0, max(end - start - sink_down, 1) * 0.5)
        planned.append(Fault(down_at, "sink-down", sink_name))
        if service_restarts > 0:
            # Move one Redis restart into the downed subscriber's outage: its retries are due.
            for index, fault in enumerate(planned):
                if fault.kind == "restart" and fault.target == "redis":
                    planned[index] = Fault(down_at + sink_down * 0.5, "restart", "redis")
                    break
    return sorted(planned, key=lambda f: f.at)


@contextlib.contextmanager
def fault_lock(path: Path | None, wait: float) -> Iterator[bool]:
    """Hold the stack's fault lock (the one the test suite's ``stack`` fixture takes) while
    a shared service is down, so tests beside the soak wait instead of failing; False if it
    could not be had within ``wait`` seconds (the restart is then skipped)."""
    if path is None:
        yield True
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    yield False
                    return
                time.sleep(0.2)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Chaos:
    """Runs the schedule in a thread; each action is a callable given by the soak."""

    def __init__(
        self, faults: list[Fault], actions: dict[str, Callable[[Fault], str]], timeline: Timeline
    ) -> None:
        self.faults, self.actions, self.timeline = faults, actions, timeline
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, name="chaos", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)

    def _run(self) -> None:
        for fault in self.faults:
            wait = self.timeline.origin + fault.at - time.time()
            if wait > 0 and self.stop.wait(wait):
                return
            started = time.time()
            try:
                detail = self.actions[fault.kind](fault)
            except Exception as exc:  # a failed fault is reported, the run goes on
                detail = f"FAILED: {type(exc).__name__}: {exc}"
                self.errors.append(f"{fault.kind} {fault.target}: {detail}")
            self.timeline.record(started, f"{fault.kind} {fault.target}", detail)
