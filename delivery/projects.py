"""A cap on one project's attempts in flight, whatever its number of subscriptions and sinks.

The pool's caps are per sink and per process: a tenant with many subscriptions to many slow
sinks could hold every connection of the process (``max_connections``), each sink within its
own cap, and everyone else's deliveries would wait for a connection until their deadlines.
Each attempt of a project holds one of its ``max_connections_per_project`` slots from before
it asks for a connection until its answer; beyond that, the project's attempts wait in line
(in arrival order, within their own deadlines), and other projects' go on.
"""

from __future__ import annotations

import asyncio
from collections import deque

from delivery.http1 import Deadline


class ProjectSlots:
    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._busy: dict[str, int] = {}
        self._waiters: dict[str, deque[asyncio.Future[None]]] = {}

    def busy(self, project: str) -> int:
        """The project's attempts in flight now."""
        return self._busy.get(project, 0)

    def try_take(self, project: str) -> bool:
        """A slot at once (the hot path, no awaiting), or False: :meth:`take` waits for one."""
        busy = self._busy.get(project, 0)
        if busy >= self.cap or project in self._waiters:  # nobody overtakes the line
            return False
        self._busy[project] = busy + 1
        return True

    async def take(self, project: str, timeout: float) -> None:
        """Wait in the project's line for a slot; :class:`Deadline` ("wait") after ``timeout``."""
        if self.try_take(project):
            return
        waiter = asyncio.get_running_loop().create_future()
        line = self._waiters.setdefault(project, deque())
        line.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter
        except (TimeoutError, asyncio.CancelledError) as exc:
            if waiter.done() and not waiter.cancelled():
                self.give_back(project)  # handed a slot as the deadline fired: pass it on
            elif waiter in line:
                line.remove(waiter)
            if not line and self._waiters.get(project) is line:
                del self._waiters[project]
            if isinstance(exc, TimeoutError):
                raise Deadline("wait") from None
            raise

    def give_back(self, project: str) -> None:
        """The attempt ended: its slot goes to the project's first waiter, else it is free."""
        line = self._waiters.get(project)
        while line:
            waiter = line.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes over, still counted as busy
                if not line:
                    del self._waiters[project]
                return
        self._waiters.pop(project, None)
        busy = self._busy.get(project, 0) - 1
        if busy > 0:
            self._busy[project] = busy
        else:
            self._busy.pop(project, None)
