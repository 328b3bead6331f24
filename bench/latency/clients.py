"""kafka-python against confluent-kafka (librdkafka), as the bridge produces and the broker
consumes: CPU per record and latency, in alternating rounds of the same run.

    .venv/bin/python -u bench/latency/clients.py [--records 20000] [--rounds 3] [--pings 200]

Needs the local stack's Kafka. For each client and round, on a fresh 6-partition topic:

  produce   ``--records`` records of a lease event's size (key, ce_ headers), sent in
            batches of 500 and flushed per batch, acks=all and idempotent (the bridge's
            settings); records/s and CPU microseconds per record of this whole process
            (the clients' I/O threads included)
  consume   the same records read back by a new consumer group, as the broker's consumer
            does (manual commits, a fetch answered at the first record); CPU per record
  ping      ``--pings`` records one at a time: send -> confirmed by Kafka (the bridge's
            wait before it acknowledges RabbitMQ), and send -> read by a consumer polling
            in another thread (the broker's fetch); p50/p99

Medians over the rounds; the clients alternate which goes first.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import confluent_kafka
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from stack import layout

KAFKA = layout.KAFKA_BOOTSTRAP
BATCH = 500
VALUE = b'{"lease_id": "%s", "project_id": "p", "status": "ACTIVE"}' + b"x" * 700
HEADERS = [(f"ce_{name}", b"v" * 30) for name in ("id", "source", "type", "subject", "time")]


def record(n: int) -> tuple[bytes, bytes]:
    key = f"lease-{n % 97}".encode()
    return key, VALUE.replace(b"%s", key)


class PythonClient:
    name = "kafka-python"

    def producer(self) -> Any:
        return KafkaProducer(bootstrap_servers=[KAFKA], acks="all", enable_idempotence=True,
                             linger_ms=0, batch_size=256 * 1024)  # fmt: skip

    def produce(self, producer: Any, topic: str, keys: list[tuple[bytes, bytes]]) -> None:
        futures = [producer.send(topic, key=k, value=v, headers=HEADERS) for k, v in keys]
        producer.flush()
        for future in futures:
            future.get()

    def close_producer(self, producer: Any) -> None:
        producer.close()

    def consumer(self, topic: str) -> Any:
        consumer = KafkaConsumer(
            bootstrap_servers=[KAFKA], group_id=f"bench-{uuid.uuid4().hex[:8]}",
            enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=500,
            fetch_min_bytes=1, fetch_max_wait_ms=500,
        )  # fmt: skip
        consumer.subscribe([topic])
        return consumer

    def poll(self, consumer: Any) -> int:
        batch = consumer.poll(timeout_ms=100)
        return sum(len(records) for records in batch.values())

    def commit(self, consumer: Any) -> None:
        consumer.commit()

    def close_consumer(self, consumer: Any) -> None:
        consumer.close(autocommit=False)


class RdkafkaClient:
    name = "confluent-kafka"

    def producer(self) -> Any:
        return confluent_kafka.Producer({
            "bootstrap.servers": KAFKA, "acks": "all", "enable.idempotence": True,
            "linger.ms": 0, "partitioner": "murmur2_random",
        })  # fmt: skip

    def produce(self, producer: Any, topic: str, keys: list[tuple[bytes, bytes]]) -> None:
        failed: list[Any] = []

        def on_delivery(error: Any, _message: Any) -> None:
            if error is not None:
                failed.append(error)

        for k, v in keys:
            producer.produce(topic, key=k, value=v, headers=HEADERS, on_delivery=on_delivery)
        producer.flush(30)
        if failed:
            raise RuntimeError(failed[0])

    def close_producer(self, producer: Any) -> None:
        producer.flush(30)

    def consumer(self, topic: str) -> Any:
        consumer = confluent_kafka.Consumer({
            "bootstrap.servers": KAFKA, "group.id": f"bench-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "fetch.min.bytes": 1, "fetch.wait.max.ms": 500,
        })  # fmt: skip
        consumer.subscribe([topic])
        return consumer

    def poll(self, consumer: Any) -> int:
        messages = consumer.consume(500, 0.1)
        return sum(1 for m in messages if m.error() is None)

    def commit(self, consumer: Any) -> None:
        try:
            consumer.commit(asynchronous=False)
        except confluent_kafka.KafkaException as exc:  # nothing new to commit
            if exc.args[0].code() != confluent_kafka.KafkaError._NO_OFFSET:
                raise

    def close_consumer(self, consumer: Any) -> None:
        consumer.close()


def new_topic() -> str:
    topic = f"bench.clients.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=KAFKA)
    admin.create_topics([NewTopic(topic, 6, 1)])
    admin.close()
    return topic


def delete_topics(topics: list[str]) -> None:
    admin = KafkaAdminClient(bootstrap_servers=KAFKA)
    admin.delete_topics(topics)
    admin.close()


def timed(work: Callable[[], None]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def throughput(client: Any, records: int) -> tuple[str, dict[str, float]]:
    topic = new_topic()
    producer = client.producer()
    client.produce(producer, topic, [record(0)])  # connected, metadata in

    def produce_all() -> None:
        for start in range(0, records, BATCH):
            client.produce(producer, topic, [record(n) for n in range(start, start + BATCH)])

    wall, cpu = timed(produce_all)
    client.close_producer(producer)
    consumer = client.consumer(topic)
    seen = 0

    def consume_all() -> None:
        nonlocal seen
        deadline = time.monotonic() + 300
        while seen < records + 1 and time.monotonic() < deadline:
            seen += client.poll(consumer)
            if seen and seen % 5000 < BATCH:
                client.commit(consumer)
        client.commit(consumer)

    # The group join is not per-record work: first poll until records flow, then time.
    while seen == 0:
        seen += client.poll(consumer)
    consume_wall, consume_cpu = timed(consume_all)
    client.close_consumer(consumer)
    counted = seen - 1 or 1
    return topic, {
        "produce_per_s": records / wall, "produce_cpu_us": cpu / records * 1e6,
        "consume_cpu_us": consume_cpu / counted * 1e6,
        "consume_per_s": counted / consume_wall,
    }  # fmt: skip


def pings(client: Any, count: int) -> tuple[str, dict[str, float]]:
    """One record at a time: confirmed by Kafka, and read by a consumer in another thread."""
    topic = new_topic()
    producer = client.producer()
    consumer = client.consumer(topic)
    arrived: dict[bytes, float] = {}
    condition = threading.Condition()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            if isinstance(client, PythonClient):
                batch = consumer.poll(timeout_ms=100)
                values = [r.value for records in batch.values() for r in records]
            else:
                # consume(n, timeout) waits for n messages or the timeout: poll for the
                # first, then take what else is already there without waiting.
                first = consumer.poll(0.1)
                messages = [first, *consumer.consume(100, 0)] if first is not None else []
                values = [m.value() for m in messages if m.error() is None]
            now = time.perf_counter()
            if values:
                with condition:
                    for value in values:
                        arrived[value[:64]] = now
                    condition.notify_all()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    confirmed, consumed = [], []
    for n in range(-20, count):  # the first 20: joining the group, warming up
        key, value = record(n)
        value = f"{uuid.uuid4().hex}".encode() + value
        began = time.perf_counter()
        client.produce(producer, topic, [(key, value)])
        done = time.perf_counter()
        mark = value[:64]
        with condition:
            condition.wait_for(lambda mark=mark: mark in arrived, 30)  # type: ignore[misc]
            seen = arrived.get(mark)
        if n >= 0 and seen is not None:
            confirmed.append(done - began)
            consumed.append(seen - began)
        time.sleep(0.01)
    stop.set()
    reader.join()
    client.close_consumer(consumer)
    client.close_producer(producer)
    q = lambda values, i: statistics.quantiles(values, n=100, method="inclusive")[i] * 1000  # noqa: E731
    return topic, {
        "confirm_p50_ms": q(confirmed, 49), "confirm_p99_ms": q(confirmed, 98),
        "consume_p50_ms": q(consumed, 49), "consume_p99_ms": q(consumed, 98),
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pings", type=int, default=200)
    args = parser.parse_args()
    clients = [PythonClient(), RdkafkaClient()]
    figures: dict[str, list[dict[str, float]]] = {c.name: [] for c in clients}
    topics: list[str] = []
    load_before = os.getloadavg()
    try:
        for n in range(args.rounds):
            for client in clients[:: 1 if n % 2 else -1]:
                topic, measured = throughput(client, args.records)
                topics.append(topic)
                topic, latency = pings(client, args.pings)
                topics.append(topic)
                measured.update(latency)
                figures[client.name].append(measured)
                print(client.name, json.dumps({k: round(v, 2) for k, v in measured.items()}))
    finally:
        if topics:
            delete_topics(topics)
    medians = {
        name: {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
        for name, rounds in figures.items()
    }
    python, rd = medians["kafka-python"], medians["confluent-kafka"]
    print(f"{'median of ' + str(args.rounds) + ' rounds':28} {'kafka-python':>14} "
          f"{'confluent-kafka':>16} {'ratio':>7}")  # fmt: skip
    for key in python:
        print(f"{key:28} {python[key]:14.2f} {rd[key]:16.2f} {python[key] / rd[key]:7.2f}")
    print(json.dumps({"medians": medians, "load_before": load_before,
                      "load_after": os.getloadavg()}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
