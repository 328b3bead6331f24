import threading
import time

from reminders import service
from reminders.service import Task


def test_a_crashed_task_restarts_and_shows_as_failing_until_it_is_stable(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(service, "STABLE", 0.5)
    runs: list[int] = []

    def body(stop: threading.Event) -> None:
        runs.append(1)
        if len(runs) == 1:
            raise ConnectionError("Redis went away")
        stop.wait()

    task = Task("firing", body)
    task.thread.start()
    deadline = time.monotonic() + 30
    while len(runs) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(runs) == 2  # restarted after its backoff
    state = task.state()
    assert state["crashes"] == 1 and "Redis went away" in state["error"]
    while task.state()["failing"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert task.state()["alive"] and not task.state()["failing"]
    task.stopping.set()
    task.thread.join(10)
    assert not task.thread.is_alive()
