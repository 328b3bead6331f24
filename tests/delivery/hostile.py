"""A hostile sink: a real TCP server on loopback that answers every request with a script.

It reads the request as a sink would, then writes the scripted bytes and ends as told:
closes, waits for the next request (keep-alive), hangs, streams filler as fast as the client
reads it, or trickles it. It counts
connections (total and at once) so that tests can see what the client did to it.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Literal

Then = Literal["close", "keep", "hang", "stream", "trickle"]
STREAM_LIMIT = 32 * 1024 * 1024  # a client that buffers everything would hold this much


@dataclass(frozen=True)
class Script:
    chunks: tuple[bytes, ...]
    then: Then = "close"
    filler: bytes = b"x"
    pause: float = 0.05  # between trickled fillers
    read_request: bool = True


@dataclass
class HostileSink:
    script: Script
    connections: int = 0
    open: int = 0
    peak: int = 0  # connections open at once
    sent: int = 0  # bytes the server managed to write
    requests: int = 0
    server: asyncio.Server | None = field(default=None, repr=False)
    tasks: set[asyncio.Task[None]] = field(default_factory=set, repr=False)

    port: int = 0

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self.server.sockets[0].getsockname()[1])
        return f"http://127.0.0.1:{self.port}/hook"

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        self.connections += 1
        self.open += 1
        self.peak = max(self.peak, self.open)
        try:
            while True:
                if self.script.read_request:
                    await read_request(reader)
                self.requests += 1
                for chunk in self.script.chunks:
                    await self._write(writer, chunk)
                if self.script.then == "close":
                    return
                if self.script.then == "keep":
                    continue  # the next request on this connection
                if self.script.then == "hang":
                    await reader.read()  # until the client goes away
                    return
                if self.script.then == "stream":
                    filler = self.script.filler * max(1, 16384 // len(self.script.filler))
                    while self.sent < STREAM_LIMIT:
                        await self._write(writer, filler)
                    return
                while True:  # trickle
                    await self._write(writer, self.script.filler)
                    await asyncio.sleep(self.script.pause)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        except asyncio.CancelledError:
            return  # stopped: the stream's own callback must not see a cancelled task
        finally:
            self.tasks.discard(task)
            self.open -= 1
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        await writer.drain()
        self.sent += len(data)


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head + await reader.readexactly(length)
