"""A lean HTTP/1.1 client for deliveries: pooled keep-alive connections, pinned addresses.

Why not a general-purpose client: the broker makes thousands of small POSTs a second from
one event loop, and a full client spends most of that time on features a webhook never uses
(cookies, redirects, proxies, compression, multipart). This one does exactly what a delivery
needs: resolve the host, let the egress policy check **every** address, connect to a checked
address (TLS keeps the name for SNI and certificate checks), send one request, read the
status and headers, drain a bounded body so the connection can be reused.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from blazar_events import egress

Resolve = Callable[[str, int], Awaitable[list[str]]]
Check = Callable[[str], None]


class ProtocolError(ConnectionError):
    """The sink's answer is not HTTP/1.x we can read."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    retry_after: str | None


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _Connection(asyncio.Protocol):
    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[Response] | None = None
        self.closed = False
        self.reusable = True
        self._head: tuple[int, str | None, int | None, bool] | None = (
            None  # status, RA, len, chunked
        )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            if self._head is not None and self._head[2] is None and not self._head[3]:
                self.waiter.set_result(Response(self._head[0], self._head[1]))  # read-to-close
            else:
                self.waiter.set_exception(ConnectionResetError("the sink closed the connection"))

    def send(self, data: bytes) -> asyncio.Future[Response]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.buffer.clear()
        self._head = None
        self.transport.write(data)
        return self.waiter

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        try:
            self._parse()
        except (ValueError, IndexError) as exc:
            self.reusable = False
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_exception(ProtocolError(f"unreadable HTTP answer: {exc}"))
            self.close()

    def _parse(self) -> None:
        if self.waiter is None or self.waiter.done():
            return
        while self._head is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > 65536:
                    raise ValueError("headers too long")
                return
            lines = bytes(self.buffer[:end]).split(b"\r\n")
            del self.buffer[: end + 4]
            parts = lines[0].split(b" ", 2)
            if not parts[0].startswith(b"HTTP/1."):
                raise ValueError(f"status line {lines[0][:60]!r}")
            status = int(parts[1])
            if 100 <= status < 200:
                continue  # an interim answer: the real one follows
            length, chunked, retry_after = None, False, None
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value.strip())
                elif name == b"transfer-encoding":
                    chunked = b"chunked" in value.lower()
                elif name == b"connection" and b"close" in value.lower():
                    self.reusable = False
                elif name == b"retry-after":
                    retry_after = value.strip().decode("latin-1")
            if status in (204, 304):
                length = 0
            if length is None and not chunked:
                self.reusable = False  # the body ends when the sink closes
            self._head = (status, retry_after, length, chunked)
        status, retry_after, length, chunked = self._head
        if chunked:
            if not self._chunks_done():
                return
        elif length is not None:
            if length > self.max_body:
                self.reusable = False  # not worth reading: drop the connection instead
            elif len(self.buffer) < length:
                return
        else:
            return  # read-to-close: connection_lost finishes it
        self.waiter.set_result(Response(status, retry_after))

    def _chunks_done(self) -> bool:
        position = 0
        while True:
            end = self.buffer.find(b"\r\n", position)
            if end < 0:
                return False
            size = int(bytes(self.buffer[position:end]).split(b";")[0], 16)
            if size == 0:  # the last chunk; its (trailer-less) CRLF ends the body
                return self.buffer.find(b"\r\n", end + 2) >= 0
            position = end + 2 + size + 2
            if position > self.max_body:
                self.reusable = False
                return True
            if len(self.buffer) < position:
                return False

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


def _expire(waiter: asyncio.Future[Response]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class HttpClient:
    def __init__(
        self,
        check: Check,
        resolve: Resolve | None = None,
        dns_cache_seconds: float = 10.0,
        max_idle_per_host: int = 256,
        max_body: int = 65536,
    ) -> None:
        self._check = check
        self._resolve = resolve or system_resolve
        self._dns_ttl = dns_cache_seconds
        self._dns: dict[tuple[str, int], tuple[float, list[str]]] = {}
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._max_idle = max_idle_per_host
        self._max_body = max_body
        self._tls = ssl.create_default_context()
        self._targets: dict[tuple[str, str], tuple[tuple[str, str, int], str]] = {}

    async def _addresses(self, host: str, port: int) -> list[str]:
        """Checked addresses of ``host`` (cached only after passing the check)."""
        cached = self._dns.get((host, port))
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        addresses = await self._resolve(host, port)
        if not addresses:
            raise ConnectionError(f"{host} resolves to no address")
        for address in addresses:
            self._check(address)
        if self._dns_ttl > 0:
            self._dns[(host, port)] = (time.monotonic() + self._dns_ttl, addresses)
        return addresses

    async def _connect(self, scheme: str, host: str, port: int) -> _Connection:
        loop = asyncio.get_running_loop()
        last: Exception | None = None
        for address in await self._addresses(host, port):
            try:
                _, protocol = await loop.create_connection(
                    lambda: _Connection(self._max_body), address, port,
                    ssl=self._tls if scheme == "https" else None,
                    server_hostname=host if scheme == "https" else None,
                )  # fmt: skip
                return protocol
            except OSError as exc:
                last = exc
        raise last or ConnectionError(f"cannot connect to {host}")

    async def request(
        self, method: str, url: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> Response:
        key, prefix = self._target(method, url)
        head = [prefix, f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        connection = self._take(key)
        if connection is None:
            async with asyncio.timeout(timeout):
                connection = await self._connect(*key)
                response = await self._exchange(connection, data)
        else:
            # A pooled connection (the usual case): one timer instead of a timeout context,
            # which costs several times more per request on this hot path.
            waiter = connection.send(data)
            timer = asyncio.get_running_loop().call_later(timeout, _expire, waiter)
            try:
                response = await self._exchange(connection, waiter)
            finally:
                timer.cancel()
        self._give_back(key, connection)
        return response

    @staticmethod
    async def _exchange(
        connection: _Connection, request: bytes | asyncio.Future[Response]
    ) -> Response:
        try:
            return await (connection.send(request) if isinstance(request, bytes) else request)
        except BaseException:
            connection.close()
            raise

    def _target(self, method: str, url: str) -> tuple[tuple[str, str, int], str]:
        """The pool key and request line + Host header of ``url`` (parsed once per sink).

        The host is the one the egress rules judged (IDNA-encoded, dots folded, no trailing
        dot): what is resolved, checked and sent as ``Host`` is one and the same name.
        """
        cached = self._targets.get((method, url))
        if cached is None:
            sink = egress.check_url(url)
            parts = urlsplit(url)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            name = f"[{sink.host}]" if ":" in sink.host else sink.host
            host = name if parts.port is None else f"{name}:{sink.port}"
            prefix = f"{method} {target} HTTP/1.1\r\nHost: {host}"
            cached = ((sink.scheme, sink.host, sink.port), prefix)
            if len(self._targets) >= 10_000:
                self._targets.clear()
            self._targets[(method, url)] = cached
        return cached

    def _take(self, key: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            if not connection.closed:
                return connection
        return None

    def _give_back(self, key: tuple[str, str, int], connection: _Connection) -> None:
        if connection.closed or not connection.reusable:
            connection.close()
            return
        idle = self._idle.setdefault(key, [])
        if len(idle) < self._max_idle:
            idle.append(connection)
        else:
            connection.close()

    async def close(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
