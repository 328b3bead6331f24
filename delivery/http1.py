"""The HTTP/1.1 client of deliveries: one request, one deadline, pinned checked addresses.

Why not a general-purpose client: the broker makes thousands of small POSTs a second from
one event loop, and a full client spends most of that time on features a webhook never uses
(cookies, redirects, proxies, compression, multipart; bench/delivery/RESULTS.md). This one
does exactly what a delivery needs and keeps the policy to itself:

- the wire is llhttp's (:mod:`delivery.transport`), with our limits on what is read;
- connections come from :mod:`delivery.pool` (caps per sink and per process), opened to an
  address the egress policy checked (:mod:`delivery.resolver`), the name kept for ``Host`` and
  TLS SNI; no redirects, no proxies;
- one deadline covers the whole attempt: waiting for a connection slot, DNS, connect, TLS,
  sending and the complete answer. It fires while a sink trickles a byte a second.
"""

from __future__ import annotations

import asyncio
from typing import Literal
from urllib.parse import urlsplit

from blazar_events import egress
from delivery.pool import Pool
from delivery.resolver import AddressCheck, Resolve, Resolver
from delivery.transport import Connection, Key, ProtocolError, Response, StaleConnection

__all__ = ["Deadline", "HttpClient", "ProtocolError", "Resolve", "Response"]

Stage = Literal["wait", "connect", "answer"]


class Deadline(TimeoutError):
    """The attempt's deadline passed; ``stage`` says where it was."""

    def __init__(self, stage: Stage) -> None:
        super().__init__(stage)
        self.stage: Stage = stage


def _expire(waiter: asyncio.Future[Response]) -> None:
    if not waiter.done():
        waiter.set_exception(Deadline("answer"))


class HttpClient:
    def __init__(
        self,
        check: AddressCheck,
        resolve: Resolve | None = None,
        *,
        dns_cache_seconds: float = 10.0,
        max_connections: int = 1000,
        max_connections_per_sink: int = 100,
        max_head: int = 65536,
        max_body: int = 65536,
    ) -> None:
        self.pool = Pool(
            Resolver(check, resolve, dns_cache_seconds),
            max_total=max_connections,
            max_per_sink=max_connections_per_sink,
            max_head=max_head,
            max_body=max_body,
        )
        self._targets: dict[tuple[str, str], tuple[Key, bytes]] = {}

    async def request(
        self, method: str, url: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> Response:
        lines = "\r\n".join(f"{name}: {value}" for name, value in headers.items())
        return await self.send(method, url, lines.encode("latin-1"), body, timeout)

    async def send(
        self, method: str, url: str, lines: bytes, body: bytes, timeout: float
    ) -> Response:
        """:meth:`request` with the header lines already encoded (``name: value`` joined by
        CRLF, no ``Content-Length``: that one is ours), as the broker shares them per event."""
        key, prefix = self._target(method, url)
        data = b"%s\r\nContent-Length: %d%s%s\r\n\r\n%s" % (
            prefix,
            len(body),
            b"\r\n" if lines else b"",
            lines,
            body,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        connection = self.pool.take_idle(key)
        if connection is None:
            connection = await self._acquire(key, deadline)
        for resend in (False, True):
            # One timer handle rather than a timeout context: several times cheaper on the
            # hot path, and the waiter is failed however bytes trickle in meanwhile.
            waiter = connection.send(data)
            timer = loop.call_at(deadline, _expire, waiter)
            try:
                response = await waiter
            except StaleConnection:
                if resend:
                    raise
                # The sink closed a kept-alive connection as the request went out (its
                # idle timeout): nothing was answered, so send it again, once, in time.
                connection = await self._acquire(key, deadline)
                continue
            except BaseException:
                connection.close()
                raise
            finally:
                timer.cancel()
            self.pool.give_back(connection)
            return response
        raise AssertionError("unreachable: the second try returns or raises")

    async def _acquire(self, key: Key, deadline: float) -> Connection:
        stage: Stage = "wait"
        try:
            async with asyncio.timeout_at(deadline):
                connection = await self.pool.acquire(key)
                if connection is None:
                    stage = "connect"
                    connection = await self.pool.dial(key)
                return connection
        except TimeoutError:
            raise Deadline(stage) from None

    def _target(self, method: str, url: str) -> tuple[Key, bytes]:
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
            prefix = f"{method} {target} HTTP/1.1\r\nHost: {host}".encode("latin-1")
            cached = ((sink.scheme, sink.host, sink.port), prefix)
            if len(self._targets) >= 10_000:
                self._targets.clear()
            self._targets[(method, url)] = cached
        return cached

    async def close(self) -> None:
        await self.pool.close()
