"""A stand-in for Knative's Kafka Broker dispatcher, for the subscription on the function lane.

In Knative mode a Trigger's dispatcher (eventing-kafka-broker's data plane, unordered delivery)
reads the topic, applies the Trigger's filter and POSTs each event in binary mode to the
subscriber URI (the delivery function), several at once. It retries what the spec calls
retryable (no answer or a timeout, 5xx, 404, 408, 409, 429) with the Trigger's backoff,
sends a record to the dead letter on any other non-2xx or when the retries are spent, and
commits an offset only once every record before it was answered. This does the same for
one Trigger, with the soak's own filter, so the function service can be SIGKILLed mid-run
like every other component. No Kubernetes runs on this machine.

Beyond what Knative does, so that the soak counts the product's repeats and not the stand-in's:
what was answered beyond the committed offset goes with the commit as its metadata
(:mod:`offsets`); a revoke waits (up to ``REVOKE_GRACE``) for the deliveries in flight and
commits synchronously; stopping does the same. A restart or a rebalance then skips what was
answered instead of sending it again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import confluent_kafka
import httpx
from offsets import Offsets
from workload import PREFIX, Note

MAX_IN_FLIGHT = 32  # deliveries under way at once
PAUSE_AFTER = 10.0  # seconds at MAX_IN_FLIGHT before the partitions are paused
COMMIT_INTERVAL = 1.0
REVOKE_GRACE = 15.0  # longer than one attempt's timeout
RETRYABLE = {404, 408, 409, 429}  # and every 5xx (Knative's data-plane spec)


def retryable(status: int) -> bool:
    return status >= 500 or status in RETRYABLE


class Dispatcher:
    def __init__(
        self,
        bootstrap: str,
        topic: str,
        group: str,
        url: str,
        matches: Callable[[Note], bool],
        retry: int = 100,
        backoff: Callable[[int], float] = lambda attempt: 1.0 * attempt,
        timeout: float = 10.0,
    ) -> None:
        """``retry``, ``backoff`` (seconds before retry n) and ``timeout``: the Trigger's
        delivery spec."""
        self.topic, self.url, self.matches = topic, url, matches
        self.retry, self.backoff = retry, backoff
        self.consumer = confluent_kafka.Consumer({
            "bootstrap.servers": bootstrap, "group.id": group,
            "auto.offset.reset": "earliest", "enable.auto.commit": False,
            "log_level": 2,  # librdkafka's connection errors while Kafka restarts: expected
        })  # fmt: skip
        self.client = httpx.Client(timeout=timeout,
                                   limits=httpx.Limits(max_connections=MAX_IN_FLIGHT))  # fmt: skip
        self.pool = ThreadPoolExecutor(MAX_IN_FLIGHT, thread_name_prefix="trigger-post")
        self.offsets = Offsets()
        self.lock = threading.Condition()
        self.in_flight: dict[int, int] = {}  # partition -> deliveries under way
        self.generation: dict[int, int] = {}  # bumped on revoke: its deliveries stop retrying
        self.stop = threading.Event()
        self.posted = self.retries = self.skipped = self.revokes = self.commit_failures = 0
        self.dead_lettered: list[tuple[str, int, str]] = []  # (event id, status, body)
        self.thread = threading.Thread(target=self._run, name="trigger", daemon=True)

    def start(self) -> None:
        self.consumer.subscribe([self.topic], on_assign=self._on_assign,
                                on_revoke=self._on_revoke, on_lost=self._on_lost)  # fmt: skip
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(REVOKE_GRACE + 30)
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()

    # --- the consumer's thread ----------------------------------------------------------

    def _run(self) -> None:
        next_commit = time.monotonic() + COMMIT_INTERVAL
        paused, full_since = False, 0.0
        try:
            while not self.stop.is_set():
                now = time.monotonic()
                if now >= next_commit:
                    self._commit(None, asynchronous=True)
                    next_commit = now + COMMIT_INTERVAL
                if self._busy() >= MAX_IN_FLIGHT:
                    # Wait for room without polling; pausing costs a fetch from Kafka when
                    # resumed (a pause purges what was fetched), so only a long stall (the
                    # function down) pauses, to keep polling within max.poll.interval.ms.
                    full_since = full_since or now
                    if now - full_since < PAUSE_AFTER:
                        with self.lock:
                            self.lock.wait(0.2)  # a delivery that ends notifies
                        continue
                    self.consumer.pause(self.consumer.assignment())  # a new assignment too
                    paused = True
                else:
                    full_since = 0.0
                    if paused:
                        self.consumer.resume(self.consumer.assignment())
                        paused = False
                message = self.consumer.poll(0.2)
                if message is not None and not message.error():
                    self._take(message)
        finally:
            self._wait_idle(None)
            self._commit(None, asynchronous=False)
            self.consumer.close()

    def _take(self, message: confluent_kafka.Message) -> None:
        partition, offset = message.partition() or 0, message.offset() or 0
        if not self.offsets.read(partition, offset):
            with self.lock:
                self.skipped += 1  # answered before a restart or a rebalance
            return
        pairs: list[tuple[str, bytes | str | None]] = list(message.headers() or [])  # type: ignore[arg-type]
        headers = {k: v.decode() if isinstance(v, bytes) else (v or "") for k, v in pairs}
        if not self._wanted(headers):
            self.offsets.settle(partition, offset)
            return
        http_headers = {"ce-" + k[3:]: v for k, v in headers.items() if k.startswith("ce_")}
        http_headers["content-type"] = headers.get("content-type", "application/json")
        # Knative's dispatcher names the record it read in three extensions.
        http_headers.update({"ce-knativekafkatopic": self.topic,
                             "ce-knativekafkapartition": str(partition),
                             "ce-knativekafkaoffset": str(offset)})  # fmt: skip
        with self.lock:
            self.in_flight[partition] = self.in_flight.get(partition, 0) + 1
            generation = self.generation.get(partition, 0)
        self.pool.submit(self._deliver, partition, offset, generation, http_headers,
                         message.value() or b"")  # fmt: skip

    def _wanted(self, headers: dict[str, str]) -> bool:
        ce_type = headers.get("ce_type", "")
        if not ce_type.startswith(PREFIX):
            return False
        note = Note(-1, ce_type[len(PREFIX) :], headers.get("ce_projectid", ""),
                    headers.get("ce_leaseid", ""), headers.get("ce_leasestatus", ""))  # fmt: skip
        return self.matches(note)

    def _commit(self, partitions: list[int] | None, asynchronous: bool) -> None:
        due = self.offsets.due(partitions)
        if not due:
            return
        offsets = [confluent_kafka.TopicPartition(self.topic, number, offset, metadata=meta)
                   for number, (offset, meta) in due.items()]  # fmt: skip
        try:
            self.consumer.commit(offsets=offsets, asynchronous=asynchronous)
        except confluent_kafka.KafkaException:
            with self.lock:
                self.commit_failures += 1
            return
        if not asynchronous:
            self.offsets.committed(due)

    def _on_assign(
        self, consumer: confluent_kafka.Consumer, partitions: list[confluent_kafka.TopicPartition]
    ) -> None:
        try:
            committed = consumer.committed(partitions, timeout=30)
        except confluent_kafka.KafkaException:
            committed = partitions  # nothing known to skip: repeats, never a loss
        for tp in committed:
            self.offsets.assign(tp.partition, tp.offset, getattr(tp, "metadata", None))

    def _on_revoke(
        self, _consumer: confluent_kafka.Consumer, partitions: list[confluent_kafka.TopicPartition]
    ) -> None:
        numbers = [tp.partition for tp in partitions]
        with self.lock:
            self.revokes += 1
            for number in numbers:
                self.generation[number] = self.generation.get(number, 0) + 1
        self._wait_idle(numbers)
        self._commit(numbers, asynchronous=False)
        for number in numbers:
            self.offsets.revoke(number)

    def _on_lost(
        self, _consumer: confluent_kafka.Consumer, partitions: list[confluent_kafka.TopicPartition]
    ) -> None:
        with self.lock:
            self.revokes += 1
            for tp in partitions:
                self.generation[tp.partition] = self.generation.get(tp.partition, 0) + 1
        for tp in partitions:  # no longer ours to commit; the next owner reads them again
            self.offsets.revoke(tp.partition)

    def _busy(self, partitions: list[int] | None = None) -> int:
        with self.lock:
            counts = self.in_flight.items()
            return sum(n for p, n in counts if partitions is None or p in partitions)

    def _wait_idle(self, partitions: list[int] | None) -> None:
        deadline = time.monotonic() + REVOKE_GRACE
        with self.lock:
            while self._busy(partitions) and time.monotonic() < deadline:
                self.lock.wait(0.1)

    # --- the workers --------------------------------------------------------------------

    def _deliver(
        self, partition: int, offset: int, generation: int, headers: dict[str, str], body: bytes
    ) -> None:
        try:
            if self._answered(partition, generation, headers, body):
                self.offsets.settle(partition, offset)
        finally:
            with self.lock:
                self.in_flight[partition] -= 1
                self.lock.notify_all()

    def _answered(
        self, partition: int, generation: int, headers: dict[str, str], body: bytes
    ) -> bool:
        """POST until 2xx or a dead letter (True); False if stopped or the partition moved."""
        attempts = 0
        while True:
            with self.lock:
                if self.generation.get(partition, 0) != generation:
                    return False
            try:
                answer: httpx.Response | None = self.client.post(self.url, headers=headers,
                                                                 content=body)  # fmt: skip
            except httpx.HTTPError:
                answer = None
            if answer is not None and answer.is_success:
                with self.lock:
                    self.posted += 1
                return True
            attempts += 1
            if (answer is not None and not retryable(answer.status_code)) or attempts > self.retry:
                status, text = (0, "") if answer is None else (answer.status_code, answer.text)
                with self.lock:
                    self.dead_lettered.append((headers.get("ce-id", ""), status, text[:200]))
                return True
            with self.lock:
                self.retries += 1
            if self.stop.wait(self.backoff(attempts)):
                return False
