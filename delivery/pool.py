"""Keep-alive connections to sinks, under two caps: one per sink and one for the process.

A sink is a (scheme, host, port). Each open connection, busy or idle, holds a slot of its
sink (``max_per_sink``) and one of the process (``max_total``), so one tenant's endpoint
that hangs or trickles can hold at most ``max_per_sink`` connections while the others keep
theirs. An idle connection gives its process slot up to a sink that needs one (the oldest
idle goes first). A request that finds no slot waits in line, within its own deadline.

Idle connections are dropped as soon as their peer closes them or sends anything
(:class:`delivery.transport.Connection` does both), so that a pooled connection never
carries stray bytes into the next request.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque

from delivery.guard import Resolver
from delivery.transport import Connection, Key


class _Sink:
    __slots__ = ("idle", "open", "waiters")

    def __init__(self) -> None:
        self.open = 0
        self.idle: list[Connection] = []
        self.waiters: deque[asyncio.Future[None]] = deque()


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
        self._waiters: deque[asyncio.Future[None]] = deque()  # for a process slot

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

        Waits while the caps are reached; a caller cancelled here holds nothing.
        """
        while True:
            connection = self.take_idle(key)
            if connection is not None:
                return connection
            sink = self._sinks.setdefault(key, _Sink())
            if sink.open < self._max_per_sink:
                if self._open >= self._max_total and self._idle:
                    self._evict_oldest_idle()
                if self._open < self._max_total:
                    sink.open += 1
                    self._open += 1
                    return None
                line = self._waiters
            else:
                line = sink.waiters
            await self._wait(line, key)

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
        """After a complete answer: keep the connection for the next request, or drop it."""
        if connection.closed or not connection.reusable:
            connection.close()
            return
        sink = self._sinks[connection.key]
        sink.idle.append(connection)
        self._idle[connection] = None
        if sink.waiters or self._waiters:
            self._wake(sink)

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
        sink = self._sinks[key]
        sink.open -= 1
        self._open -= 1
        self._wake(sink)
        self._tidy(key)

    def _wake(self, sink: _Sink | None) -> bool:
        """Let the first waiter for this sink, else for any slot, try again."""
        lines = [self._waiters] if sink is None else [sink.waiters, self._waiters]
        for line in lines:
            while line:
                waiter = line.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    return True
        return False

    async def _wait(self, line: deque[asyncio.Future[None]], key: Key) -> None:
        waiter = asyncio.get_running_loop().create_future()
        line.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._wake(self._sinks.get(key))  # woken, then cancelled: pass the turn on
            elif waiter in line:
                line.remove(waiter)
            self._tidy(key)
            raise
