"""Hostile sinks: real TCP servers answering generated HTTP, against the real Sender.

Whatever a sink answers, the attempt ends within its deadline with a classified outcome, the
client keeps no more than a bounded amount of what the sink sent, and the delivery log's
error never names the address or port the attempt went to.
"""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
import uvloop
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from delivery.client import Sender
from delivery.outcomes import Attempt, Delivered, Gone, PermanentFailure, Retry
from delivery.request import Payload, Target
from delivery.settings import DeliverySettings
from tests.delivery.conftest import from_fixture, to_secret
from tests.delivery.hostile import HostileSink, Script, read_request

T = TypeVar("T")
EVENT = from_fixture("v2-lease.event.start_lease.json")
SECRET = to_secret()
MEMORY_BOUND = 4 * 1024 * 1024  # what the client may hold at once, whatever was sent
RETRY_KINDS = ("protocol error", "network error", "no answer within", "could not connect")

EOL = st.sampled_from([b"\r\n"] * 6 + [b"\n", b"\r", b"", b"\r\r\n", b"\n\r"])
NUMBER = st.one_of(
    st.integers(-(2**70), 2**70).map(lambda n: str(n).encode()),
    st.integers(0, 2**80).map(lambda n: b"%x" % n),
    st.sampled_from([b"", b" 5", b"5 ", b"+5", b"0x10", b"1e3", b"zz", b"\xff", b"5, 5", b"5;x"]),
)
STATUS = st.one_of(
    st.sampled_from([b"200", b"204", b"301", b"410", b"429", b"503", b"100", b"101", b"103"]),
    NUMBER,
)
STATUS_LINE = st.one_of(
    st.builds(
        lambda version, status, reason, eol: version + b" " + status + b" " + reason + eol,
        st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2", b"HTTP/1.1 ", b"http/1.1", b"ICY"]),
        STATUS,
        st.sampled_from([b"OK", b"", b"\x00\xff", b"Busy " * 20]),
        EOL,
    ),
    st.binary(max_size=40),
)
HEADER = st.builds(
    lambda name, value, eol: name + b": " + value + eol,
    st.sampled_from(
        [
            b"Content-Length",
            b"Transfer-Encoding",
            b"Retry-After",
            b"Connection",
            b"content-length",
            b"X-Junk",
            b"Bad Name",
            b"",
        ]
    ),
    st.one_of(
        NUMBER,
        st.sampled_from(
            [
                b"chunked",
                b"gzip, chunked",
                b"chunked, gzip",
                b"close",
                b"keep-alive",
                b"identity",
                b"upgrade",
            ]
        ),
        st.binary(max_size=30),
    ),
    EOL,
)
CHUNK = st.builds(
    lambda size, ext, eol1, data, eol2: size + ext + eol1 + data + eol2,
    NUMBER,
    st.sampled_from([b"", b";a=b", b";" + b"e" * 200]),
    EOL,
    st.binary(max_size=40),
    EOL,
)
ANSWER = st.builds(
    lambda interim, status, headers, eol, body: interim + status + b"".join(headers) + eol + body,
    st.integers(0, 30).map(lambda n: b"HTTP/1.1 100 Continue\r\n\r\n" * n),
    STATUS_LINE,
    st.lists(HEADER, max_size=6),
    EOL,
    st.one_of(st.binary(max_size=100), st.lists(CHUNK, max_size=4).map(b"".join)),
)
GARBAGE = st.one_of(
    st.binary(min_size=1, max_size=300),
    st.just(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(32)),  # a TLS hello
    st.just(b"\x15\x03\x03\x00\x02\x02\x28"),  # a TLS alert
    st.just(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00\x00\x00\x00\x00"),
)
FILLER = st.sampled_from([
    b"a", b"0\r\n", b"1\r\nx\r\n", b"HTTP/1.1 100 Continue\r\n\r\n", b"X-Long: aaaa\r\n",
    b"\x00\xff\x16\x03", b"\r\n",
])  # fmt: skip
SCRIPT = st.builds(
    Script,
    chunks=st.lists(st.one_of(ANSWER, GARBAGE), min_size=1, max_size=2).map(tuple),
    then=st.sampled_from(["close", "hang", "stream", "trickle"]),
    filler=FILLER,
    pause=st.just(0.02),
)


def run_uvloop(main: Callable[[], Awaitable[T]]) -> T:
    """On the loop the broker runs (uvloop)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main())  # type: ignore[arg-type]


async def attempt_against(script: Script, timeout: float, **options: object) -> Attempt:
    """One attempt against a sink playing ``script``; the outcome, checked for what holds
    whatever the sink did (ended in time, classified, no address, bounded memory)."""
    sink = HostileSink(script)
    url = await sink.start()
    sender = Sender(DeliverySettings.load(allowed_networks=["127.0.0.0/8"], **options))
    tracemalloc.start()
    try:
        result = await asyncio.wait_for(
            sender.attempt(Target("s", url, timeout=timeout), Payload(EVENT), [SECRET]),
            timeout + 30,  # generous: the attempt must end long before
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        await sender.close()
        await sink.stop()
    assert peak < MEMORY_BOUND, f"the client held {peak} bytes at once"
    assert result.latency < timeout + 5
    outcome = result.outcome
    assert isinstance(outcome, Delivered | Retry | PermanentFailure | Gone)
    if not isinstance(outcome, Delivered):
        assert "127.0.0.1" not in outcome.error and str(sink.port) not in outcome.error
    if outcome.status is None:
        assert isinstance(outcome, Retry) and outcome.error.startswith(RETRY_KINDS), outcome
    return result


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(script=SCRIPT)
def test_whatever_a_sink_answers_the_attempt_ends_in_time_classified_and_bounded(
    script: Script,
) -> None:
    run_uvloop(lambda: attempt_against(script, timeout=0.3))


@pytest.mark.parametrize(
    ("chunks", "filler"),
    [
        ((b"HTTP/1.1 200 OK\r\nX-Endless: ",), b"a"),  # one endless header line
        ((b"HTTP/1.1 200 OK\r\n",), b"X-Many: headers\r\n"),  # endless header lines
        ((), b"HTTP/1.1 100 Continue\r\n\r\n"),  # a 1xx storm
        ((b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;",), b"e"),  # endless ext
        ((b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",), b"1\r\nx\r\n"),
        ((b"HTTP/1.1 200 OK\r\n\r\n",), b"body until close "),  # read-to-close, never closed
        ((b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",), b"z"),
    ],
)
def test_endless_streams_are_cut_and_never_buffered(
    chunks: tuple[bytes, ...], filler: bytes
) -> None:
    result = run_uvloop(lambda: attempt_against(Script(chunks, "stream", filler), timeout=20))
    # Either the head limit ended it (a protocol error) or the body limit (the status stands).
    assert result.outcome in (Delivered(200),) or (
        isinstance(result.outcome, Retry) and result.outcome.error.startswith("protocol error")
    )


@pytest.mark.parametrize(
    ("chunks", "where"),
    [
        ((b"HTTP/1.1 200 OK\r\nX-Slow: ",), "in the head"),
        ((b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab",), "in the body"),
    ],
)
def test_a_sink_trickling_a_byte_a_second_is_cut_at_the_deadline(
    chunks: tuple[bytes, ...], where: str
) -> None:
    script = Script(chunks, "trickle", b"0", pause=1.0)
    outcome = asyncio.run(attempt_against(script, timeout=2.5)).outcome
    assert outcome == Retry("no answer within 2.5 s", timed_out=True), where


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-6\r\nabcdef\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n\x00\x01garbage",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
    ],
)
def test_malformed_answers_are_protocol_errors_to_retry(answer: bytes) -> None:
    outcome = asyncio.run(attempt_against(Script((answer,), "hang"), timeout=2)).outcome
    assert isinstance(outcome, Retry), outcome
    assert outcome.error.startswith(("protocol error", "no answer within"))


def test_the_negative_chunk_size_that_froze_the_broker_is_a_retry_not_a_spin() -> None:
    answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-6\r\n"
    outcome = asyncio.run(attempt_against(Script((answer,), "hang"), timeout=5)).outcome
    assert isinstance(outcome, Retry) and outcome.error.startswith("protocol error"), outcome


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(junk=st.one_of(ANSWER, GARBAGE), apart=st.booleans())
def test_bytes_after_an_answer_never_answer_the_next_request(junk: bytes, apart: bool) -> None:
    """A sink writes its answer, then more (a smuggled second answer, garbage), in the same
    write or just after: the next request on the sink gets its own answer, never those."""

    async def scenario() -> list[Attempt]:
        answers = iter([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"] + [
            b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"] * 4)  # fmt: skip

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    await read_request(reader)
                    answer = next(answers)
                    writer.write(answer if apart else answer + junk)
                    await writer.drain()
                    if apart:
                        await asyncio.sleep(0.01)
                        writer.write(junk)
                        await writer.drain()
            except (ConnectionError, asyncio.IncompleteReadError, StopIteration):
                writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        sender = Sender(DeliverySettings.load(allowed_networks=["127.0.0.0/8"]))
        try:
            results = []
            for _ in range(2):
                target = Target("s", url, timeout=5)
                results.append(await sender.attempt(target, Payload(EVENT), [SECRET]))
                await asyncio.sleep(0.05)  # junk written apart arrives on the idle connection
        finally:
            await sender.close()
            server.close()
        return results

    first, second = (a.outcome for a in run_uvloop(scenario))
    assert first == Delivered(200)
    assert second == Delivered(202)
