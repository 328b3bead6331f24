"""Keep-alive connections to sinks, under two caps: one per sink and one for the process.

A sink is a (scheme, host, port). Each open connection, busy or idle, holds a slot of its
sink (``max_per_sink``) and one of the process (``max_total``), so one tenant's endpoint
that hangs or trickles can hold at most ``max_per_sink`` connections while the others keep
theirs. An idle connection gives its process slot up to a sink that needs one (the oldest
idle goes first). A request that finds no slot waits in line, within its own deadline, and
lines are served in order: a connection given back, or a slot freed, is handed to the first
waiter, never left for whoever asks next (a steady stream of requests would otherwise take
it every time, and a request waiting in line would wait out its deadline).

Idle connections are dropped as soon as their peer closes them or sends anything
(:class:`delivery.transport.Connection` does both), so that a pooled connection never
carries stray bytes into the next request.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque

from delivery.resolver import Resolver
from delivery.transport import Connection, Key

# What a waiter is handed: a connection to use, True (a slot reserved for it: dial), or
# False (nothing: look again, e.g. its sink filled up while it waited for a process slot).
Handed = Connection | bool


class _Sink:
    __slots__ = ("idle", "open", "waiters")

    def __init__(self) -> None:
        self.open = 0
        self.idle: list[Connection] = []
        # Requests waiting for this sink's connection or slot (the sink at its cap). There is
        # never an idle connection while one waits: a connection given back goes to it.
        self.waiters: deque[asyncio.Future[Handed]] = deque()


class Pool:
    def __init__(
        self,
        resolver: Resolver,
        *,
        max_total: int,
        max_per_sink: int,
        max_head: int,
        max_body: int,
    ) -> None:
        self._resolver = resolver
        self._max_total = max_total
        self._max_per_sink = max_per_sink
        self._max_head = max_head
        self._max_body = max_body
        self._tls = ssl.create_default_context()
        self._sinks: dict[Key, _Sink] = {}
        self._open = 0
        self._idle: dict[Connection, None] = {}  # every idle connection, oldest first
        # Requests waiting for a process slot (the process at its cap), with their sink.
        self._waiters: deque[tuple[asyncio.Future[Handed], Key]] = deque()

    @property
    def open(self) -> int:
        """Connections open now, busy or idle."""
        return self._open

    def take_idle(self, key: Key) -> Connection | None:
        """A pooled connection to ``key``, if one is idle: the hot path, no awaiting."""
        sink = self._sinks.get(key)
        if sink is None:
            return None
        while sink.idle:
            connection = sink.idle.pop()
            del self._idle[connection]
            if not connection.closed:
                return connection
        return None

    async def acquire(self, key: Key) -> Connection | None:
        """An idle connection to ``key``, or None: a slot is reserved, :meth:`dial` on it.

        Waits in line while the caps are reached; a caller cancelled here holds nothing.
        """
        while True:
            connection = self.take_idle(key)
            if connection is not None:
                return connection
            sink = self._sinks.setdefault(key, _Sink())
            loop = asyncio.get_running_loop()
            waiter: asyncio.Future[Handed] = loop.create_future()
            if sink.open >= self._max_per_sink:
                sink.waiters.append(waiter)
            else:
                if self._open >= self._max_total and self._idle:
                    self._evict_oldest_idle()
                if self._open < self._max_total:
                    sink.open += 1
                    self._open += 1
                    return None
                self._waiters.append((waiter, key))
            handed = await self._wait(waiter, key)
            if handed is True:
                return None
            if isinstance(handed, Connection) and not handed.closed:
                return handed
            # A handed connection that closed meanwhile gave its slot on as it closed.

    async def dial(self, key: Key) -> Connection:
        """A new connection on the slot :meth:`acquire` reserved (given up if this fails)."""
        try:
            connection = await self._dial(key)
        except BaseException:
            self._release(key)
            raise
        connection.attach(self._forget)
        return connection

    def give_back(self, connection: Connection) -> None:
        """After a complete answer: the first waiter's, else kept idle (or dropped)."""
        if connection.closed or not connection.reusable:
            connection.close()  # its slot is handed on as it closes (_forget)
            return
        sink = self._sinks[connection.key]
        if _hand(sink.waiters, connection):
            return
        if self._waiters:  # another sink waits for a process slot: this one's goes to it
            connection.detach()
            connection.close()
            self._release(connection.key)
            return
        sink.idle.append(connection)
        self._idle[connection] = None

    async def close(self) -> None:
        for connection in list(self._idle):
            connection.close()
        self._idle.clear()
        for sink in self._sinks.values():
            sink.idle.clear()

    async def _dial(self, key: Key) -> Connection:
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        last: OSError | None = None
        for address in await self._resolver.addresses(host, port):
            try:
                _, connection = await loop.create_connection(
                    lambda: Connection(key, self._max_head, self._max_body), address, port,
                    ssl=self._tls if scheme == "https" else None,
                    server_hostname=host if scheme == "https" else None,
                )  # fmt: skip
                return connection
            except OSError as exc:
                last = exc
        assert last is not None  # the resolver returns at least one address
        raise last

    def _forget(self, connection: Connection) -> None:
        """``connection`` ended: its slots go to whoever waits for them."""
        if connection in self._idle:
            del self._idle[connection]
            self._sinks[connection.key].idle.remove(connection)
        self._release(connection.key)

    def _evict_oldest_idle(self) -> None:
        """Close the oldest idle connection now, its process slot to be taken at once."""
        oldest = next(iter(self._idle))
        del self._idle[oldest]
        sink = self._sinks[oldest.key]
        sink.idle.remove(oldest)
        oldest.detach()
        oldest.close()
        sink.open -= 1
        self._open -= 1
        self._tidy(oldest.key)

    def _tidy(self, key: Key) -> None:
        sink = self._sinks.get(key)
        if sink is not None and sink.open == 0 and not sink.idle and not sink.waiters:
            del self._sinks[key]  # sinks come and go with subscriptions: keep no husk

    def _release(self, key: Key) -> None:
        """A slot of ``key`` is free: the sink's next waiter takes it over, else the process's
        next waiter (for its own sink), else it is free."""
        sink = self._sinks[key]
        if _hand(sink.waiters, True):
            return
        sink.open -= 1
        self._open -= 1
        self._tidy(key)
        while self._waiters and self._open < self._max_total:
            waiter, wanted = self._waiters.popleft()
            if waiter.done():
                continue
            other = self._sinks.setdefault(wanted, _Sink())
            if other.open >= self._max_per_sink:
                waiter.set_result(False)  # its sink filled up meanwhile: it waits there
                continue
            other.open += 1
            self._open += 1
            waiter.set_result(True)

    async def _wait(self, waiter: asyncio.Future[Handed], key: Key) -> Handed:
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed something, then cancelled
                handed = waiter.result()
                if isinstance(handed, Connection):
                    self.give_back(handed)
                elif handed:
                    self._release(key)
            else:  # still in its line: leave it (a done future is skipped there anyway)
                sink = self._sinks.get(key)
                if sink is not None and waiter in sink.waiters:
                    sink.waiters.remove(waiter)
                self._waiters = deque(w for w in self._waiters if w[0] is not waiter)
            self._tidy(key)
            raise


def _hand(line: deque[asyncio.Future[Handed]], handed: Handed) -> bool:
    """Give ``handed`` to the first waiter still waiting in ``line``; False if there is none."""
    while line:
        waiter = line.popleft()
        if not waiter.done():
            waiter.set_result(handed)
            return True
    return False
