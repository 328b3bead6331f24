"""Dead letters: a delivery given up goes to the subscription's ``deadLetterSink`` if it has
one, and always to the dead-letter topic, with Knative's error extensions
(``knativeerrordest``, ``knativeerrorcode``, ``knativeerrordata``) and the subscription id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any, Protocol

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.v1.event import CloudEvent
from confluent_kafka import KafkaError, KafkaException

from blazar_events import kafkaproducer
from blazar_events.records import to_record
from blazar_events.settings import KafkaSettings
from delivery.client import Sender
from delivery.outcomes import Outcome, to_name
from delivery.request import Payload, Target

log = logging.getLogger(__name__)

MAX_ERROR_DATA = 1024
MAX_ATTRIBUTE = 2048  # a sink URL's limit
# What a letter without its data keeps: what identifies the event and the subscription.
KEPT = frozenset({
    "specversion", "id", "source", "type", "subject", "time", "datacontenttype",
    "subscriptionid", "projectid", "leaseid", "partitionkey",
})  # fmt: skip
POLL_SECONDS = 0.2  # how long the callback thread's poll waits; bounds close()


class Producer(Protocol):
    async def send(self, topic: str, key: bytes | None, value: bytes, headers: list[Any]) -> None:
        """Return once the record is acknowledged; raise if it cannot be written."""


class KafkaDeadLetterProducer:
    """librdkafka producer (acks=all, idempotent); its delivery callbacks resolve asyncio
    futures. One thread serves the callbacks (``poll``) until :meth:`close`."""

    def __init__(self, settings: KafkaSettings) -> None:
        self._producer = kafkaproducer.new_producer(
            {
                **settings.librdkafka_config(),
                "client.id": "blazar-events-dead-letters",
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 5,
                "message.max.bytes": 1_048_576,
            }
        )
        self._closing = threading.Event()
        self._poller = threading.Thread(target=self._serve, name="dead-letters", daemon=True)
        self._poller.start()

    def _serve(self) -> None:
        while not self._closing.is_set():
            try:
                self._producer.poll(POLL_SECONDS)
            except Exception as exc:  # a callback's bug must not end the callbacks
                log.error("dead-letter producer callbacks: %s: %s", type(exc).__name__, exc)

    async def send(self, topic: str, key: bytes | None, value: bytes, headers: list[Any]) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def resolve(exc: BaseException | None) -> None:
            if done.done():
                return
            if exc is None:
                done.set_result(None)
            else:
                done.set_exception(exc)

        def delivered(error: KafkaError | None, _message: Any) -> None:
            failure = None if error is None else KafkaException(error)
            # Raised here it would surface from poll/flush; a loop already closed (the
            # router gone) has nobody waiting for the answer anyway.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(resolve, failure)

        try:
            self._producer.produce(
                topic, value=value, key=key, headers=headers, on_delivery=delivered
            )
        except BufferError:  # the client's queue is full: the dispatcher retries
            raise kafkaproducer.kafka_failure(KafkaError._QUEUE_FULL, "queue full") from None
        await done

    def close(self) -> None:
        self._closing.set()
        self._poller.join(timeout=5)
        kafkaproducer.discard(self._producer, timeout=5)


def to_dead_letter(
    event: BaseCloudEvent, subscription_id: str, sink: str, outcome: Outcome
) -> BaseCloudEvent:
    """The event with the Knative error extensions added."""
    attributes = dict(event.get_attributes())
    attributes["knativeerrordest"] = sink
    attributes["knativeerrorcode"] = str(outcome.status if outcome.status is not None else 0)
    attributes["knativeerrordata"] = f"{to_name(outcome)}: {getattr(outcome, 'error', '')}"[
        :MAX_ERROR_DATA
    ]
    attributes["subscriptionid"] = subscription_id
    return CloudEvent(attributes, event.get_data())


class DeadLetters:
    """Two steps, so that a retried one never repeats the other: :meth:`post` (one attempt to
    the subscription's ``deadLetterSink``, never raises) happens once; :meth:`publish` (the
    topic, which must take the letter) is what the dispatcher retries until Kafka has it.
    """

    def __init__(self, producer: Producer, topic: str, sender: Sender) -> None:
        self.producer = producer
        self.topic = topic
        self.sender = sender

    def letter(self, target: Target, payload: Payload, outcome: Outcome) -> BaseCloudEvent:
        return to_dead_letter(payload.event, target.subscription_id, target.sink, outcome)

    async def post(
        self, target: Target, letter: BaseCloudEvent, secrets: list[str], dead_letter_sink: str
    ) -> bool:
        """One attempt, signed like any delivery; the topic keeps the letter either way."""
        sink_target = Target(target.subscription_id, dead_letter_sink, timeout=target.timeout)
        try:
            attempt = await self.sender.attempt(sink_target, Payload(letter), secrets)
        except Exception as exc:  # the tenant's sink; the topic still gets the letter
            log.warning("dead-letter sink of %s failed: %s: %s",
                        target.subscription_id, type(exc).__name__, exc)  # fmt: skip
            return False
        if to_name(attempt.outcome) != "delivered":
            log.warning(
                "dead-letter sink of %s did not take event %s: %s",
                target.subscription_id, letter.get_id(), to_name(attempt.outcome),
            )  # fmt: skip
            return False
        return True

    async def publish(self, letter: BaseCloudEvent) -> None:
        """Returns once the dead-letter topic has the letter; raises if it cannot.

        A letter Kafka refuses for itself (too large: the event fitted in a record, the
        error extensions made it too big) is written without its data instead: retried as
        is, it would fail forever and hold its record's offset, and the partition's, for
        good. Only if Kafka refuses even that small letter does the caller retry it.
        """
        record = to_record(letter)
        try:
            await self.producer.send(self.topic, record.key, record.value, list(record.headers))
            return
        except KafkaException as exc:
            if not kafkaproducer.is_refused(exc):
                raise
            reason = f"Kafka refused the letter: {kafkaproducer.error_name(exc)}"
            log.warning("dead letter of event %s written without its data: %s",
                        str(letter.get_id())[:100], reason)  # fmt: skip
        small = to_record(to_small_letter(letter, reason))
        await self.producer.send(self.topic, small.key, small.value, list(small.headers))


def to_small_letter(letter: BaseCloudEvent, reason: str) -> BaseCloudEvent:
    """The letter without data, its attributes cut to a size Kafka always takes."""
    attributes = {
        name: value[:MAX_ATTRIBUTE] if isinstance(value, str) else value
        for name, value in letter.get_attributes().items()
        if name in KEPT or name.startswith("knativeerror")
    }
    attributes.pop("datacontenttype", None)  # there is no data left to describe
    data = str(attributes.get("knativeerrordata", ""))
    attributes["knativeerrordata"] = f"{data} (data omitted: {reason})"[-MAX_ERROR_DATA:]
    return CloudEvent(attributes, None)
