"""One attempt against a real HTTP sink on loopback, classified as Contract 3 says."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import pytest
from cloudevents.core.base import BaseCloudEvent

from delivery.client import Sender
from delivery.http1 import Resolve
from delivery.outcomes import Attempt, Delivered, Gone, PermanentFailure, Retry
from delivery.request import USER_AGENT, Payload, Target
from delivery.settings import DeliverySettings
from stack.sink import HANG, Sink
from tests.delivery.conftest import data_of

T = TypeVar("T")
LOOPBACK = ["127.0.0.0/8"]


def run(
    make: Callable[[Sender], Awaitable[T]],
    allowed: Sequence[str] = LOOPBACK,
    resolver: Resolve | None = None,
) -> T:
    async def main() -> T:
        sender = Sender(DeliverySettings.load(allowed_networks=list(allowed)), resolver)
        try:
            return await make(sender)
        finally:
            await sender.close()

    return asyncio.run(main())


def attempt(target: Target, event: BaseCloudEvent, secrets: list[str], **kw: Any) -> Attempt:
    return run(lambda sender: sender.attempt(target, Payload(event), secrets), **kw)


def test_a_2xx_is_delivered_as_a_signed_binary_cloudevent(
    sink: Sink, event: BaseCloudEvent, secret: str
) -> None:
    sink.verify_with("hook", secret)
    target = Target("sub-1", sink.url("hook"), headers={"X-Team": "ops", "webhook-id": "forged"})

    result = attempt(target, event, [secret])

    assert result.outcome == Delivered(200)
    [received] = sink.requests("hook")
    assert received.verified is True
    assert received.headers["webhook-id"] == event.get_id()
    assert received.headers["ce-type"] == "org.openstack.blazar.lease.event.start_lease"
    assert received.headers["User-Agent"] == USER_AGENT
    assert received.headers["X-Team"] == "ops"
    assert received.event is not None and received.event.get_id() == event.get_id()
    assert "trust_id" not in data_of(received.body)


def test_structured_mode_carries_the_whole_event_in_the_body(
    sink: Sink, event: BaseCloudEvent, secret: str
) -> None:
    sink.verify_with("s", secret)
    result = attempt(Target("sub-1", sink.url("s"), mode="structured"), event, [secret])

    assert result.outcome == Delivered(200)
    [received] = sink.requests("s")
    assert received.headers["Content-Type"].startswith("application/cloudevents+json")
    assert data_of(received.body)["id"] == event.get_id()
    assert received.verified is True


def test_410_is_gone(sink: Sink, event: BaseCloudEvent, secret: str) -> None:
    sink.answer("g", 410)
    assert isinstance(attempt(Target("s", sink.url("g")), event, [secret]).outcome, Gone)


def test_429_with_retry_after_is_retried_after_that_delay(
    sink: Sink, event: BaseCloudEvent, secret: str
) -> None:
    sink.answer("r", 429, headers={"Retry-After": "12"})
    outcome = attempt(Target("s", sink.url("r")), event, [secret]).outcome
    assert outcome == Retry("the sink answered 429", 429, 12.0)


def test_5xx_is_retried_and_4xx_fails_for_good(
    sink: Sink, event: BaseCloudEvent, secret: str
) -> None:
    sink.answer("x", 503, 400)
    target = Target("s", sink.url("x"))
    assert isinstance(attempt(target, event, [secret]).outcome, Retry)
    assert attempt(target, event, [secret]).outcome == PermanentFailure(
        "the sink answered 400", 400
    )


def test_a_hung_sink_times_out_and_is_retried(
    sink: Sink, event: BaseCloudEvent, secret: str
) -> None:
    sink.answer("hang", HANG)
    result = attempt(Target("s", sink.url("hang"), timeout=0.3), event, [secret])
    assert isinstance(result.outcome, Retry)
    assert "no answer within 0.3 s" in result.outcome.error


def test_a_refused_connection_is_retried(event: BaseCloudEvent, secret: str) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    outcome = attempt(Target("s", f"http://127.0.0.1:{port}/"), event, [secret]).outcome
    assert isinstance(outcome, Retry)
    assert "network error" in outcome.error


def test_loopback_is_refused_unless_the_operator_allows_it(
    sink: Sink, event: BaseCloudEvent, secret: str
) -> None:
    by_name = Target("s", sink.url("a").replace("127.0.0.1", "localhost"))
    outcome = attempt(by_name, event, [secret], allowed=[]).outcome
    assert isinstance(outcome, PermanentFailure)
    assert "rule=loopback" in outcome.error
    outcome = attempt(Target("s", sink.url("a")), event, [secret], allowed=[]).outcome
    assert isinstance(outcome, PermanentFailure)
    assert sink.requests() == []
    assert attempt(by_name, event, [secret]).outcome == Delivered(200)


class Rebinding:
    """DNS that answers one list of addresses, then the next (e.g. the metadata service)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)

    async def __call__(self, host: str, port: int) -> list[str]:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.mark.parametrize(
    "addresses", [["169.254.169.254"], ["127.0.0.1", "169.254.169.254"], ["10.1.2.3"]]
)
def test_a_name_resolving_to_a_refused_address_is_never_connected(
    event: BaseCloudEvent, secret: str, addresses: list[str]
) -> None:
    outcome = attempt(
        Target("s", "http://hooks.example.test/x"),
        event,
        [secret],
        resolver=Rebinding(addresses),
    ).outcome
    assert isinstance(outcome, PermanentFailure)
    assert "refused by the egress policy" in outcome.error


def test_dns_rebinding_to_the_metadata_service_is_refused_at_connect_time(
    sink: Sink, event: BaseCloudEvent, secret: str
) -> None:
    # The name passed a check once (127.0.0.1 is allowed here); now it rebinds to metadata.
    url = f"http://rebind.example.test:{sink.port}/m"
    resolver = Rebinding(["127.0.0.1"], ["169.254.169.254"])

    async def twice(sender: Sender) -> list[Attempt]:
        first = await sender.attempt(Target("s", url), Payload(event), [secret])
        sender_settings = DeliverySettings.load(allowed_networks=LOOPBACK, dns_cache_seconds=0)
        fresh = Sender(sender_settings, resolver)
        try:
            second = await fresh.attempt(Target("s", url), Payload(event), [secret])
        finally:
            await fresh.close()
        return [first, second]

    first, second = run(twice, resolver=resolver)
    assert first.outcome == Delivered(200)
    assert isinstance(second.outcome, PermanentFailure)
    assert "rule=metadata" in second.outcome.error
    assert len(sink.requests("m")) == 1


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/meta-data", "http://[::1]:80/", "ftp://example.com/"]
)
def test_refused_literal_sinks_fail_for_good(event: BaseCloudEvent, secret: str, url: str) -> None:
    outcome = attempt(Target("s", url), event, [secret], allowed=[]).outcome
    assert isinstance(outcome, PermanentFailure)


def test_an_international_host_is_resolved_and_sent_as_its_idna_name(
    sink: Sink, event: BaseCloudEvent, secret: str
) -> None:
    asked: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    url = f"http://Bücher.Example.:{sink.port}/idn"
    assert attempt(Target("s", url), event, [secret], resolver=resolver).outcome == Delivered(200)
    [received] = sink.requests("idn")
    assert received.headers["Host"] == f"xn--bcher-kva.example:{sink.port}"
    assert asked == ["xn--bcher-kva.example"]
