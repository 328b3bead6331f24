"""One keep-alive HTTP/1.1 connection to a sink: our limits around llhttp's parser.

The bytes a sink sends are parsed by llhttp (through ``httptools``, as uvicorn does), which
has met the whole internet: conflicting ``Content-Length``, bad chunk sizes, missing CRLFs,
obsolete line folding and request smuggling tricks are its business. What stays ours is
policy, enforced here whatever the peer does:

- the head of an answer (every 1xx interim answer included) may take at most ``max_head``
  bytes, and the whole answer at most ``max_head + max_body`` bytes: nothing a sink sends is
  kept (headers other than ``Retry-After`` and the body are counted, not stored), so memory
  per connection stays at one read buffer;
- bytes that arrive when no request is waiting (an idle pooled connection), or after the
  answer in the same read, drop the connection;
- the deadline is the caller's (:mod:`delivery.http1`): an unanswered waiter is failed by
  its timer, whatever trickles in meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import httptools

Key = tuple[str, str, int]
"""(scheme, host, port): what a connection is pooled under, one sink in the caps' sense."""


class ProtocolError(ConnectionError):
    """The sink's answer is not HTTP/1.x within our limits."""


class StaleConnection(ConnectionResetError):
    """A kept-alive connection closed before a byte of the next answer: the peer's idle
    timeout met our request, which may be sent again on a new connection."""


class _Unsolicited(Exception):
    """A second answer began where only one was asked for."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    retry_after: str | None


class Connection(asyncio.Protocol):
    """One request at a time; :meth:`send` returns the future of its answer."""

    def __init__(self, key: Key, max_head: int, max_body: int) -> None:
        self.key = key
        self.max_head = max_head
        self.max_total = max_head + max_body
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[Response] | None = None
        self.closed = False
        self.reusable = True
        self.answers = 0  # complete answers read on this connection
        self._on_close: Callable[[Connection], None] | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._fed = 0  # bytes of the current answer given to the parser
        self._status = 0  # of the final (non-1xx) answer, once its head is complete
        self._retry_after: str | None = None
        self._framed = False  # Content-Length or Transfer-Encoding: not read-to-close
        self._complete = False

    def attach(self, on_close: Callable[[Connection], None]) -> None:
        """Call ``on_close`` once when the connection ends (now, if it already has)."""
        if self.closed:
            on_close(self)
        else:
            self._on_close = on_close

    def detach(self) -> None:
        self._on_close = None

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            if self._status and not self._framed:
                waiter.set_result(Response(self._status, self._retry_after))  # read-to-close
            else:
                error = StaleConnection if self.answers and not self._fed else ConnectionResetError
                waiter.set_exception(error("the sink closed the connection before answering"))
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close(self)

    def data_received(self, data: bytes) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            self.close()  # nothing was asked: a pooled connection must carry no stray bytes
            return
        try:
            fed = self._fed + len(data)
            if fed <= self.max_head:  # the usual answer: within every limit, one call
                self._fed = fed
                self._parser.feed_data(data)
            else:
                self._feed(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade, ProtocolError) as exc:
            if waiter.done():  # bytes after the answer (_Unsolicited), or after a close
                self.close()
                return
            message = exc if isinstance(exc, ProtocolError) else _describe(exc)
            waiter.set_exception(ProtocolError(str(message)))
            self.close()

    # requests

    def send(self, data: bytes) -> asyncio.Future[Response]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self._fed = self._status = 0
        self._retry_after = None
        self._framed = self._complete = False
        self.transport.write(data)
        return self.waiter

    def close(self) -> None:
        self.closed = True
        self.reusable = False
        if self.transport is not None:
            self.transport.abort()

    def _feed(self, data: bytes) -> None:
        if not self._status:
            room = self.max_head - self._fed
            if len(data) > room:
                self._fed += room
                self._parser.feed_data(memoryview(data)[:room])
                if not self._status:
                    raise ProtocolError(f"the answer's head is longer than {self.max_head} bytes")
                data = data[room:]
        room = self.max_total - self._fed
        cut = len(data) > room
        self._fed += min(len(data), room)
        self._parser.feed_data(memoryview(data)[:room] if cut else data)
        if cut and not self._complete:
            # The body is longer than we read: the status stands, the rest is not worth
            # reading, and the connection cannot be reused without reading it.
            self._finish(reusable=False)

    def _finish(self, reusable: bool) -> None:
        self._complete = True
        self.answers += 1
        self.reusable = self.reusable and reusable
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(Response(self._status, self._retry_after))
        if not self.reusable:
            self.close()

    # httptools callbacks

    def on_message_begin(self) -> None:
        if self._complete:
            raise _Unsolicited()

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name)  # most headers are none of these: skip lowering them
        if size == 11 and name.lower() == b"retry-after":
            self._retry_after = value.decode("latin-1").strip()[:64]
        elif (size == 14 or size == 17) and name.lower() in _FRAMING:
            self._framed = True

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status >= 200:
            self._status = status
        else:  # 1xx are interim: their bytes count against the head's limit, nothing else
            self._retry_after = None
            self._framed = False

    def on_message_complete(self) -> None:
        if self._status:
            self._finish(self._parser.should_keep_alive())


_FRAMING = (b"content-length", b"transfer-encoding")


def _describe(exc: Exception) -> str:
    if isinstance(exc, httptools.HttpParserUpgrade):
        return "the sink switched protocols, which was not asked for"
    reason = str(exc).strip() or type(exc).__name__
    return f"unreadable HTTP answer: {reason[:120]}"
