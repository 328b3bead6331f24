"""The settle machine of one job: every path ends settled exactly once, whatever the sink,
the schedule or the dead-letter topic do. Pure logic: the sender, schedule and producer are
stand-ins that answer as scripted."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from cloudevents.core.v1.event import CloudEvent
from confluent_kafka import KafkaError, KafkaException

from blazar_events.subscription import DeliverySpec, SigningKeys, Subscription
from broker.deadletters import DeadLetters
from broker.deliverylog import DeliveryLog
from broker.dispatcher import Dispatcher
from broker.incidents import Incidents
from broker.index import SubscriptionIndex, from_subscription_entry
from broker.lanes import Job
from broker.metrics import BrokerMetrics
from broker.settings import BrokerSettings
from delivery.outcomes import Attempt, Delivered, PermanentFailure, Retry
from delivery.request import Payload

EVENT = CloudEvent({"id": "e1", "source": "/s", "type": "t", "specversion": "1.0"})


class Sender:
    """Answers each attempt with the next scripted outcome (or raises it)."""

    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self.calls: list[str] = []

    async def attempt(self, target: Any, payload: Any, secrets: Any, number: int = 1) -> Attempt:
        self.calls.append(target.sink)
        step = self.script.pop(0) if self.script else Delivered(200)
        if isinstance(step, Exception):
            raise step
        return Attempt(step, time.time(), 0.001, number)


class Schedule:
    def __init__(self, failures: list[Exception] | None = None) -> None:
        self.put_calls: list[tuple[int, float, str | None]] = []
        self.done_calls: list[str] = []
        self.failures = failures or []

    async def put(self, job: Any, due: float, key: str | None = None) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.put_calls.append((job.number, due - time.time(), key))

    async def done(self, key: str) -> None:
        self.done_calls.append(key)

    async def claim(self, now: float, seconds: float, limit: int) -> list[tuple[str, bytes]]:
        return []


class Producer:
    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.sent: list[bytes] = []
        self.headers: list[dict[str, bytes]] = []

    async def send(self, topic: str, key: Any, value: bytes, headers: Any) -> None:
        if self.failures:
            self.failures -= 1
            raise KafkaException(KafkaError(KafkaError._MSG_TIMED_OUT, "no leader"))
        self.sent.append(value)
        self.headers.append({name: bytes(raw) for name, raw in headers})


class Settle:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def to_dispatcher(
    sender: Sender, schedule: Schedule, producer: Producer, spec: DeliverySpec, **settings: Any
) -> tuple[Dispatcher, BrokerMetrics, str]:
    sub = Subscription(project_id="p", sink="http://sink.test/a", delivery=spec)
    index = SubscriptionIndex()
    index.put(from_subscription_entry(sub, SigningKeys.generate()))
    metrics = BrokerMetrics()
    log = DeliveryLog(None, 20)  # type: ignore[arg-type]  # never flushed here
    dispatcher = Dispatcher(
        BrokerSettings.load(**settings),
        index,
        None,  # type: ignore[arg-type]  # the keys are loaded already
        sender,  # type: ignore[arg-type]
        schedule,  # type: ignore[arg-type]
        DeadLetters(producer, "dlq", sender),  # type: ignore[arg-type]
        log,
        metrics,
        Incidents(None, log, metrics),  # type: ignore[arg-type]
    )
    return dispatcher, metrics, sub.id


def run(dispatcher: Dispatcher, job: Job) -> None:
    asyncio.run(dispatcher.run(job))


def test_delivered_settles_once_and_writes_nothing() -> None:
    schedule, settle = Schedule(), Settle()
    dispatcher, _, sub_id = to_dispatcher(Sender(), schedule, Producer(), DeliverySpec())
    run(dispatcher, Job(sub_id, Payload(EVENT), "l", settled=settle))
    assert settle.count == 1 and schedule.put_calls == [] and schedule.done_calls == []


def test_a_retry_is_rescheduled_with_its_backoff_capped_then_settled() -> None:
    schedule, settle = Schedule(), Settle()
    spec = DeliverySpec(retry=100, backoffDelay="PT1H")
    dispatcher, _, sub_id = to_dispatcher(
        Sender(Retry("503", 503)), schedule, Producer(), spec, max_backoff=600.0
    )
    run(dispatcher, Job(sub_id, Payload(EVENT), "l", number=40, settled=settle))
    [(number, delay, _key)] = schedule.put_calls
    assert number == 41
    assert 590 < delay <= 600  # 1 h x 2^40 would be longer than the universe is old
    assert settle.count == 1


def test_a_retry_from_the_schedule_delivered_is_done_there_and_released() -> None:
    schedule, settle = Schedule(), Settle()
    dispatcher, _, sub_id = to_dispatcher(Sender(), schedule, Producer(), DeliverySpec())
    dispatcher.held.add("k1")
    run(dispatcher, Job(sub_id, Payload(EVENT), "l", number=2, retry_key="k1", settled=settle))
    assert schedule.done_calls == ["k1"] and dispatcher.held == set() and settle.count == 1


def test_a_dead_letter_is_posted_once_however_often_kafka_fails() -> None:
    sender, producer, settle = Sender(PermanentFailure("403", 403)), Producer(failures=2), Settle()
    spec = DeliverySpec(retry=0, deadLetterSink="http://dls.test/x")
    dispatcher, metrics, sub_id = to_dispatcher(sender, Schedule(), producer, spec)
    run(dispatcher, Job(sub_id, Payload(EVENT), "l", settled=settle))
    assert sender.calls == [
        "http://sink.test/a",
        "http://dls.test/x",
    ]  # the sink once, the DLS once
    assert len(producer.sent) == 1
    assert metrics.registry.get_sample_value("blazar_events_broker_dead_letters_total") == 1
    assert settle.count == 1


@pytest.mark.parametrize(
    "error", [RuntimeError("bug"), ValueError("x" * 5000), KeyError("k"), AttributeError("a")]
)
def test_an_exception_while_delivering_is_recorded_and_retried_later(error: Exception) -> None:
    schedule, settle = Schedule(), Settle()
    dispatcher, metrics, sub_id = to_dispatcher(
        Sender(error), schedule, Producer(), DeliverySpec(retry=3)
    )
    run(dispatcher, Job(sub_id, Payload(EVENT), "l", settled=settle))
    assert [number for number, _, _ in schedule.put_calls] == [2]
    assert (
        metrics.registry.get_sample_value("blazar_events_broker_errors_total", {"stage": "deliver"})
        == 1
    )
    assert settle.count == 1


def test_an_exception_on_the_last_attempt_is_dead_lettered() -> None:
    producer, settle = Producer(), Settle()
    dispatcher, _, sub_id = to_dispatcher(
        Sender(RuntimeError("bug")), Schedule(), producer, DeliverySpec(retry=1)
    )
    run(dispatcher, Job(sub_id, Payload(EVENT), "l", number=2, settled=settle))
    [headers] = producer.headers
    assert b"internal error: RuntimeError: bug" in headers["ce_knativeerrordata"]
    assert settle.count == 1


def test_a_step_failing_for_good_settles_instead_of_looping() -> None:
    # Not an outage (those are waited out) but a bug: the record must not be held forever.
    schedule, settle = Schedule(failures=[TypeError("bug in put")] * 2), Settle()
    dispatcher, _, sub_id = to_dispatcher(
        Sender(Retry("503", 503)), schedule, Producer(), DeliverySpec(retry=3)
    )
    run(dispatcher, Job(sub_id, Payload(EVENT), "l", settled=settle))
    assert settle.count == 1


def test_a_background_step_that_fails_is_counted_and_let_go() -> None:
    dispatcher, metrics, _ = to_dispatcher(Sender(), Schedule(), Producer(), DeliverySpec())

    async def main() -> None:
        async def broken() -> None:
            raise RuntimeError("a bug")

        dispatcher._spawn(broken())
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert metrics.errors.labels("background")._value.get() == 1
    assert not dispatcher._background  # let go: a drain does not wait for it


def test_an_outage_of_the_schedule_is_waited_out() -> None:
    from redis.exceptions import ConnectionError as RedisDown

    schedule, settle = Schedule(failures=[RedisDown("down"), RedisDown("down")]), Settle()
    dispatcher, _, sub_id = to_dispatcher(
        Sender(Retry("503", 503)), schedule, Producer(), DeliverySpec(retry=3)
    )
    run(dispatcher, Job(sub_id, Payload(EVENT), "l", settled=settle))
    assert [number for number, _, _ in schedule.put_calls] == [2]
    assert settle.count == 1


class Store:
    def __init__(self) -> None:
        self.reasons: list[tuple[str, str | None]] = []

    def set_status_reason(self, sub_id: str, reason: str | None) -> None:
        self.reasons.append((sub_id, reason))


async def written(dispatcher: Dispatcher) -> None:
    deadline = time.monotonic() + 30
    while dispatcher.incidents._writes and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


def test_a_failure_is_shown_on_the_subscription_and_cleared_by_a_delivery() -> None:
    store = Store()

    async def main() -> str:
        dispatcher, _, sub_id = to_dispatcher(
            Sender(RuntimeError("bug"), Delivered(200)), Schedule(), Producer(), DeliverySpec()
        )
        dispatcher.incidents.store = store  # type: ignore[assignment]
        await dispatcher.run(Job(sub_id, Payload(EVENT), "l"))
        await written(dispatcher)  # the reason is written off the loop
        entry = dispatcher.index.get(sub_id)
        assert entry is not None
        [(_, reason)] = store.reasons
        # what the change feed brings back: the subscription with its reason
        dispatcher.index.put(from_subscription_entry(
            entry.sub.model_copy(update={"status_reason": reason}), entry.keys
        ))  # fmt: skip
        await dispatcher.run(Job(sub_id, Payload(EVENT), "l"))
        await written(dispatcher)
        return str(reason)

    reason = asyncio.run(main())
    assert reason.startswith("delivering failed: RuntimeError: bug")
    assert [r for _, r in store.reasons] == [reason, None]
