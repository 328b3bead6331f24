"""A minimal, fast HTTP/1.1 sink for the delivery benchmark (its own process).

Answers 200 to every request except on ``/hung`` (never answers), ``/stall`` (half a
status line, then nothing) and ``/fail`` (503), and records for each request to a healthy
path (``/s<n>``) its receipt time minus the ``ce-benchsent`` header (the time the event was
produced to Kafka). ``GET /stats`` returns counts and latencies as JSON; ``POST /reset``
clears them. Hand-rolled on asyncio so that the sink is not what limits the figures.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
FAIL = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.healthy = 0  # requests to the healthy paths (/s<n>)
        self.first = 0.0
        self.last = 0.0
        self.latencies: list[float] = []
        self.by_path: dict[str, int] = {}

    def to_json(self) -> bytes:
        body: dict[str, Any] = {
            "count": self.count, "healthy": self.healthy, "first": self.first, "last": self.last,
            "latencies": self.latencies, "by_path": self.by_path,
        }  # fmt: skip
        return json.dumps(body).encode()


STATS = Stats()


class Server(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].split(b"\r\n")
            length, sent = 0, None
            for line in head[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"ce-benchsent":
                    sent = float(value)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.handle(head[0].split(b" "), sent)

    def handle(self, request_line: list[bytes], sent: float | None) -> None:
        method, path = request_line[0], request_line[1].decode()
        if method == b"GET" and path == "/stats":
            body = STATS.to_json()
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            return
        if method == b"POST" and path == "/reset":
            STATS.reset()
            self.transport.write(OK)
            return
        now = time.time()
        STATS.count += 1
        STATS.first = STATS.first or now
        STATS.last = now
        STATS.by_path[path] = STATS.by_path.get(path, 0) + 1
        if path == "/hung":
            return  # never answer: the broker's timeout has to deal with it
        if path == "/stall":
            self.transport.write(b"HTTP/1.1 200 O")  # and nothing more
            return
        if path == "/fail":
            self.transport.write(FAIL)
            return
        if not path.startswith("/s"):
            self.transport.write(OK)  # a neighbour's delivery: answered, not counted
            return
        STATS.healthy += 1
        if sent is not None:
            STATS.latencies.append(now - sent)
        self.transport.write(OK)


async def main(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(Server, "127.0.0.1", port)
    print(f"sink listening on {server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
