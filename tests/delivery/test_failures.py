"""The delivery log tells a tenant what kind of failure it was, never where inside the cloud.

An error naming the address a sink's name resolved to is a DNS oracle, and one naming the
peer and port of a refused connection turns deliveries into a port scanner of the networks
an operator allowed (issue 10, item 8).
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from delivery.client import Sender
from delivery.outcomes import Attempt, PermanentFailure, Retry
from delivery.request import Payload, Target
from delivery.settings import DeliverySettings
from tests.delivery.conftest import from_fixture, to_secret
from tests.delivery.hostile import HostileSink, Script

EVENT = from_fixture("v2-lease.event.start_lease.json")
SECRET = to_secret()


def attempt(url: str, addresses: list[str] | None = None, timeout: float = 5) -> Attempt:
    async def resolver(host: str, port: int) -> list[str]:
        assert addresses is not None
        return addresses

    async def main() -> Attempt:
        settings = DeliverySettings.load(allowed_networks=["127.0.0.0/8"])
        sender = Sender(settings, resolver if addresses is not None else None)
        try:
            return await sender.attempt(Target("s", url, timeout=timeout), Payload(EVENT), [SECRET])
        finally:
            await sender.close()

    return asyncio.run(main())


def unused_port() -> int:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        return int(unused.getsockname()[1])


def test_a_refused_connection_says_refused_without_the_address_or_port() -> None:
    port = unused_port()
    for url, addresses in [
        (f"http://127.0.0.1:{port}/", None),
        (f"http://internal.example.test:{port}/", ["127.0.0.1"]),
    ]:
        outcome = attempt(url, addresses).outcome
        assert outcome == Retry("network error: connection refused"), url


@pytest.mark.parametrize(
    ("addresses", "rule"),
    [(["10.1.2.3"], "private"), (["169.254.169.254"], "metadata"), (["::1"], "loopback")],
)
def test_a_refused_resolved_address_names_the_rule_not_the_address(
    addresses: list[str], rule: str
) -> None:
    outcome = attempt("http://hooks.example.test/", [*addresses, "10.1.2.3"]).outcome
    assert isinstance(outcome, PermanentFailure)
    assert f"rule={rule}" in outcome.error
    assert not any(address in outcome.error for address in [*addresses, "10.1.2.3"])


def test_tls_to_a_plain_http_sink_is_a_tls_error_without_the_address() -> None:
    async def main() -> Attempt:
        sink = HostileSink(
            Script((b"HTTP/1.1 400 Bad Request\r\n\r\n",), "close", read_request=False)
        )
        url = (await sink.start()).replace("http://", "https://")
        sender = Sender(DeliverySettings.load(allowed_networks=["127.0.0.0/8"]))
        try:
            return await sender.attempt(Target("s", url, timeout=5), Payload(EVENT), [SECRET])
        finally:
            await sender.close()
            await sink.stop()

    outcome = asyncio.run(main()).outcome
    assert isinstance(outcome, Retry) and outcome.error.startswith("TLS error: "), outcome
    assert "127.0.0.1" not in outcome.error


def test_a_sink_that_never_completes_the_tls_handshake_times_out_connecting() -> None:
    async def main() -> Attempt:
        sink = HostileSink(Script((), "hang", read_request=False))
        url = (await sink.start()).replace("http://", "https://")
        sender = Sender(DeliverySettings.load(allowed_networks=["127.0.0.0/8"]))
        try:
            return await sender.attempt(Target("s", url, timeout=0.5), Payload(EVENT), [SECRET])
        finally:
            await sender.close()
            await sink.stop()

    expected = Retry("could not connect within 0.5 s (timed out)", timed_out=True)
    assert asyncio.run(main()).outcome == expected


def test_a_sink_that_answers_nothing_is_told_from_one_that_refuses() -> None:
    """The broker runs one attempt at a time to a sink whose attempts end at their deadline
    (it holds a connection all that time); a refused connection or an answer is not that."""

    async def hanging() -> Attempt:
        sink = HostileSink(Script((), "hang"))
        url = await sink.start()
        try:
            settings = DeliverySettings.load(allowed_networks=["127.0.0.0/8"])
            sender = Sender(settings)
            try:
                target = Target("s", url, timeout=0.5)
                return await sender.attempt(target, Payload(EVENT), [SECRET])
            finally:
                await sender.close()
        finally:
            await sink.stop()

    hung = asyncio.run(hanging()).outcome
    refused = attempt(f"http://127.0.0.1:{unused_port()}/hook").outcome
    assert isinstance(hung, Retry) and hung.timed_out
    assert isinstance(refused, Retry) and not refused.timed_out
