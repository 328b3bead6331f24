"""The lean HTTP/1.1 client against raw servers answering in the less common ways."""

from __future__ import annotations

import asyncio

import pytest

from delivery.http1 import HttpClient, Response

Answer = bytes


def allow(_address: str) -> None:
    return None


async def exchange(answers: list[Answer], requests: int = 1) -> tuple[list[Response], int]:
    """Serve ``answers`` in order (one per request); return the responses and connections."""
    connections = 0
    pending = list(answers)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while pending:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            answer = pending.pop(0)
            writer.write(answer)
            await writer.drain()
            if b"close" in answer.lower() or (
                b"content-length" not in answer.lower() and (b"chunked" not in answer.lower())
            ):
                writer.close()
                return

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = HttpClient(allow)
    try:
        results = [
            await client.request("POST", f"http://127.0.0.1:{port}/x", {}, b"{}", timeout=5)
            for _ in range(requests)
        ]
    finally:
        await client.close()
        server.close()
    return results, connections


def test_keep_alive_reuses_one_connection() -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    responses, connections = asyncio.run(exchange([ok, ok, ok], requests=3))
    assert [r.status for r in responses] == [200, 200, 200]
    assert connections == 1


def test_chunked_bodies_interim_answers_and_retry_after_are_read() -> None:
    chunked = (b"HTTP/1.1 100 Continue\r\n\r\n"
               b"HTTP/1.1 429 Too Many\r\nRetry-After: 7\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"4\r\nslow\r\n0\r\n\r\n")  # fmt: skip
    ok = b"HTTP/1.1 204 No Content\r\n\r\n"
    responses, connections = asyncio.run(exchange([chunked, ok], requests=2))
    assert responses == [Response(429, "7"), Response(204, None)]
    assert connections == 1


def test_a_body_ending_at_close_and_a_garbled_answer() -> None:
    responses, _ = asyncio.run(exchange([b"HTTP/1.0 503 Busy\r\n\r\nbusy"]))
    assert responses == [Response(503, None)]
    with pytest.raises(ConnectionError):
        asyncio.run(exchange([b"SMTP ready\r\n\r\n"]))


def test_a_reused_connection_that_never_answers_times_out_and_is_dropped() -> None:
    async def scenario() -> tuple[int, bool, int]:
        connections = 0

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal connections
            connections += 1
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            await reader.read()  # the second request on this connection is never answered

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/x"
        client = HttpClient(allow)
        try:
            await client.request("POST", url, {}, b"{}", timeout=5)
            timed_out = False
            try:
                await client.request("POST", url, {}, b"{}", timeout=0.2)
            except TimeoutError:
                timed_out = True
            # The hung connection is not reused: the next request opens a new one.
            status = (await client.request("POST", url, {}, b"{}", timeout=5)).status
        finally:
            await client.close()
            server.close()
        return connections, timed_out, status

    connections, timed_out, status = asyncio.run(scenario())
    assert timed_out
    assert status == 200
    assert connections == 2
