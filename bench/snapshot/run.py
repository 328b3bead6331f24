"""What lease snapshots cost: reading the state topic for one request, and the bridge's extra
record per event.

1. A 6-partition state topic filled with ``--leases`` live leases (a real start_lease
   payload each, ~2 KB), plus one superseded state and one deleted lease per ten: the time
   and peak Python memory of one request's read (:func:`blazar_events.statetopic.
   from_state_topic`: two passes per partition, every state parsed into a CloudEvent),
   against a baseline in the same run: one raw pass over the same records, nothing parsed.
2. The bridge's translation of ``--batch`` notifications with the state records (today's
   ``Pipeline.to_outgoing``) against the same call without them: CPU per notification.

Run: ``.venv/bin/python -u bench/snapshot/run.py [--leases 20000] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from blazar_events import events, records
from blazar_events.kafkaproducer import new_producer, produce_all
from blazar_events.leasestate import to_state_record
from blazar_events.records import KafkaRecord
from blazar_events.settings import EventSettings, KafkaSettings
from blazar_events.statetopic import from_state_topic
from bridge.metrics import Health, Metrics
from bridge.pipeline import Pipeline
from bridge.settings import BridgeSettings
from bridge.translation import AmqpMessage
from stack.kafka import create_topics, delete_topics
from stack.layout import KAFKA_BOOTSTRAP

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "blazar"


def message(name: str) -> dict[str, Any]:
    body = json.loads((FIXTURES / name).read_text())
    return json.loads(body["oslo.message"])


def fill(topic: str, leases: int) -> int:
    start, delete = message("v2-lease.event.start_lease.json"), message("v2-lease.delete.json")
    config = KafkaSettings.load(bootstrap_servers=[KAFKA_BOOTSTRAP]).librdkafka_config()
    producer = new_producer({**config, "acks": "all", "linger.ms": 50})
    pending: list[KafkaRecord] = []
    written = 0
    for n in range(leases + leases // 10):
        fixture = copy.deepcopy(start if n < leases else delete)
        fixture["payload"]["lease_id"] = f"lease-{n % leases if n >= leases else n}"
        fixture["payload"]["project_id"] = f"project-{n % 100}"
        fixture["message_id"] = str(uuid.uuid4())
        event = events.to_cloudevent(fixture)
        assert event is not None
        versions = 2 if n < leases and n % 10 == 0 else 1  # one in ten superseded once
        for _ in range(versions):
            pending.append(to_state_record(records.to_record(event)))
            written += 1
        if len(pending) >= 10_000:
            produce_all(producer, topic, pending, 120)
            pending.clear()
    produce_all(producer, topic, pending, 120)
    return written


def raw_pass(topic: str) -> float:
    config = KafkaSettings.load(bootstrap_servers=[KAFKA_BOOTSTRAP]).librdkafka_config()
    consumer = Consumer({**config, "group.id": f"bench-raw-{uuid.uuid4().hex[:8]}"})
    metadata = consumer.list_topics(topic, timeout=30)
    ends = {
        p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
        for p in metadata.topics[topic].partitions
    }
    consumer.assign([TopicPartition(topic, p, 0) for p in ends])
    positions = dict.fromkeys(ends, 0)
    started = time.perf_counter()
    while any(positions[p] < ends[p] for p in ends):
        for message in consumer.consume(500, 0.5):
            if message.error() is None:
                positions[message.partition()] = message.offset() + 1
    elapsed = time.perf_counter() - started
    consumer.close()
    return elapsed


def snapshot_pass(kafka: KafkaSettings) -> tuple[float, int]:
    started = time.perf_counter()
    count = sum(1 for _ in from_state_topic(kafka))
    return time.perf_counter() - started, count


def snapshot_peak(kafka: KafkaSettings) -> int:
    """Peak Python memory of one read, in a round of its own (tracemalloc slows it down)."""
    tracemalloc.start()
    for _ in from_state_topic(kafka):
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def bridge_cost(batch: int, rounds: int) -> tuple[float, float]:
    body = (FIXTURES / "v2-lease.event.start_lease.json").read_bytes()
    deliveries = [AmqpMessage(tag=n, body=body) for n in range(batch)]
    pipeline = Pipeline(
        BridgeSettings.load(), KafkaSettings.load(), EventSettings.load(), None,  # type: ignore[arg-type]
        Metrics(), Health(),
    )  # fmt: skip
    with_state, without = [], []
    plain = Pipeline._states
    for _ in range(rounds):
        for states, out in ((plain, with_state), (lambda self, o: [], without)):
            Pipeline._states = states  # type: ignore[method-assign]
            started = time.process_time()
            pipeline.to_outgoing(deliveries)
            out.append((time.process_time() - started) / batch * 1e6)
    Pipeline._states = plain  # type: ignore[method-assign]
    return statistics.median(with_state), statistics.median(without)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leases", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=5_000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()}")
    topic = f"bench.leases.{uuid.uuid4().hex[:8]}"
    create_topics(KAFKA_BOOTSTRAP, {topic: 6}, {topic: {"cleanup.policy": "compact"}})
    try:
        written = fill(topic, args.leases)
        print(f"state topic: {written} records for {args.leases} leases")
        kafka = KafkaSettings.load(bootstrap_servers=[KAFKA_BOOTSTRAP], state_topic=topic)
        raws, snaps = [], []
        for _ in range(args.rounds):
            raws.append(raw_pass(topic))
            elapsed, count = snapshot_pass(kafka)
            snaps.append(elapsed)
        peaks = [snapshot_peak(kafka)]
        raw, snap = statistics.median(raws), statistics.median(snaps)
        print(f"live leases found: {count} (expected {args.leases - args.leases // 10})")
        print(f"raw single pass: {raw:.2f} s; snapshot read: {snap:.2f} s; ratio {snap / raw:.1f}")
        print(f"snapshot read: {count / snap:,.0f} leases/s; peak Python memory "
              f"{max(peaks) / 1e6:.1f} MB ({max(peaks) / count:.0f} B per live lease)")  # fmt: skip
        with_state, without = bridge_cost(args.batch, args.rounds)
        print(f"bridge translation: {with_state:.1f} us/notification with the state record, "
              f"{without:.1f} without (ratio {with_state / without:.2f})")  # fmt: skip
        print(f"load average {os.getloadavg()}")
    finally:
        delete_topics(KAFKA_BOOTSTRAP, [topic])


if __name__ == "__main__":
    main()
