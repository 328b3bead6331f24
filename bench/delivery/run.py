"""Delivery benchmark: deliveries/s and end-to-end latency of the standalone broker, beside a
same-run baseline (one Python process POSTing straight to the same sink with aiohttp).

    .venv/bin/python bench/delivery/run.py            # needs `blazar-events stack up`

Scenarios (each prints one row; see RESULTS.md for a run):
  baseline    the broker's HTTP client alone: one process, keep-alive, 64 concurrent POSTs
  throughput  a backlog of E events on Kafka x S subscriptions, broker started after it
  latency     E events/s produced for D seconds x S subscriptions (Kafka produce -> sink)
  hung        the same plus one subscriber that never answers (timeout 10 s)
  matching    SubscriptionIndex.match with 100,000 subscriptions, 10 of them matching
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import redis
from cloudevents.core.v1.event import CloudEvent
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from blazar_events.records import to_record
from blazar_events.store import SubscriptionStore
from blazar_events.subscription import DeliverySpec, SigningKeys, Subscription
from broker.index import SubscriptionIndex, from_subscription_entry
from broker.service import to_loop_factory
from functions.http1 import HttpClient

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
REDIS = "redis://127.0.0.1:6380/0"
KAFKA = "127.0.0.1:9092"
PROJECT = "benchproject0000000000000000000001"


def quantiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return (float("nan"),) * 3
    q = statistics.quantiles(values, n=100, method="inclusive")
    return q[49] * 1000, q[94] * 1000, q[98] * 1000


def to_event(n: int, sent: float | None = None) -> CloudEvent:
    lease = f"lease-{n % 50}"
    attributes: dict[str, Any] = {
        "specversion": "1.0", "id": f"bench-{uuid.uuid4()}", "source": "/openstack/blazar/bench",
        "type": "org.openstack.blazar.lease.event.start_lease", "subject": lease,
        "datacontenttype": "application/json", "projectid": PROJECT, "leaseid": lease,
        "partitionkey": lease, "leasestatus": "ACTIVE",
    }  # fmt: skip
    if sent is not None:
        attributes["benchsent"] = f"{sent:.6f}"
    data = {"lease_id": lease, "project_id": PROJECT, "status": "ACTIVE", "name": "bench",
            "reservations": [{"resource_type": "physical:host", "min": 1, "max": 1}]}  # fmt: skip
    return CloudEvent(attributes, data)


class Sink:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "sink.py"), "0"], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline().split()[-1])
        self.url = f"http://127.0.0.1:{self.port}"

    def stats(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/stats", timeout=30).json())

    def reset(self) -> None:
        httpx.post(f"{self.url}/reset", timeout=10)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


async def baseline(url: str, requests: int = 20000, concurrency: int = 64) -> float:
    """The same HTTP client the broker uses, with nothing else: the ceiling for one process."""
    body = to_record(to_event(0)).value
    headers = {
        "content-type": "application/json",
        "webhook-id": "x" * 40,
        "webhook-timestamp": "1700000000",
        "webhook-signature": "v1," + "A" * 44,
    }
    client = HttpClient(lambda _address: None)

    async def worker(n: int) -> None:
        for _ in range(n):
            await client.request("POST", f"{url}/baseline", headers, body, timeout=10)

    started = time.perf_counter()
    await asyncio.gather(*(worker(requests // concurrency) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await client.close()
    return (requests // concurrency * concurrency) / elapsed


class Setup:
    """A private topic, Redis prefix and consumer group, and S subscriptions to the sink."""

    def __init__(self, sink: Sink, subscriptions: int, hung: bool = False) -> None:
        tag = uuid.uuid4().hex[:8]
        self.topic, self.prefix = f"bench.delivery.{tag}", f"bench-delivery-{tag}"
        admin = KafkaAdminClient(bootstrap_servers=KAFKA)
        admin.create_topics([NewTopic(self.topic, 1, 1)])
        admin.close()
        self.client = redis.Redis.from_url(REDIS)
        store = SubscriptionStore(self.client, self.prefix)
        for n in range(subscriptions):
            store.create(Subscription(project_id=PROJECT, sink=f"{sink.url}/s{n}"),
                         SigningKeys.generate())  # fmt: skip
        if hung:
            spec = DeliverySpec(timeout="PT10S", retry=1)
            store.create(Subscription(project_id=PROJECT, sink=f"{sink.url}/hung", delivery=spec),
                         SigningKeys.generate())  # fmt: skip
        # The bridge's own producer linger (5 ms). At 2 ms every record went out in a produce
        # request of its own: kafka-python then used ~45 % of a core at 500 records/s (5 ms:
        # ~30 %), CPU the broker lost on this 2-core machine.
        self.producer = KafkaProducer(bootstrap_servers=KAFKA, linger_ms=5, acks=1)
        # A broker that joins its group before the new topic's metadata exists is assigned
        # nothing (kafka-python then waited minutes): start it once the topic is visible.
        deadline = time.monotonic() + 30
        while not self.producer.partitions_for(self.topic) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.broker: subprocess.Popen[bytes] | None = None
        self.log = (Path(tempfile.gettempdir()) / f"{self.prefix}.log").open("wb")

    def produce(self, event: CloudEvent) -> None:
        record = to_record(event)
        self.producer.send(self.topic, key=record.key, value=record.value,
                           headers=list(record.headers))  # fmt: skip

    def start_broker(self) -> None:
        config = Path(tempfile.mkdtemp()) / "empty.conf"
        config.write_text("")  # settings come from the environment only
        env = {**os.environ, "BLAZAR_EVENTS_CONFIG_FILE": str(config),
               "BLAZAR_EVENTS_REDIS_KEY_PREFIX": self.prefix,
               "BLAZAR_EVENTS_KAFKA_TOPIC": self.topic,
               "BLAZAR_EVENTS_KAFKA_DLQ_TOPIC": self.topic + ".dlq",
               "BLAZAR_EVENTS_BROKER_GROUP_ID": self.prefix,
               "BLAZAR_EVENTS_BROKER_PORT": os.environ.get("BLAZAR_EVENTS_BROKER_PORT", "0"),
               "BLAZAR_EVENTS_BROKER_LOG_SUCCESSES_PER_SECOND": "5",
               "BLAZAR_EVENTS_FUNCTION_ALLOWED_NETWORKS": "127.0.0.0/8"}  # fmt: skip
        self.broker = subprocess.Popen(
            [sys.executable, "-m", "blazar_events.cli", "broker"], env=env,
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def stop(self) -> None:
        if self.broker is not None:
            self.broker.terminate()
            try:
                self.broker.wait(60)
            except subprocess.TimeoutExpired:
                print(f"the broker did not stop; its log: {self.log.name}", file=sys.stderr)
                self.broker.kill()
        self.producer.close()
        for key in self.client.scan_iter(f"{self.prefix}:*"):
            self.client.delete(key)


def wait_count(sink: Sink, count: int, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = sink.stats()
        if stats["count"] >= count:
            return stats
        time.sleep(0.5)
    raise SystemExit(f"only {sink.stats()['count']} of {count} deliveries arrived")


def throughput(sink: Sink, events: int, subscriptions: int) -> float:
    setup = Setup(sink, subscriptions)
    try:
        for n in range(events):
            setup.produce(to_event(n))
        setup.producer.flush()
        sink.reset()
        setup.start_broker()
        stats = wait_count(sink, events * subscriptions)
        return float(stats["count"] / (stats["last"] - stats["first"]))
    finally:
        setup.stop()


def latency(
    sink: Sink, rate: int, seconds: int, subscriptions: int, hung: bool = False
) -> tuple[float, float, float, int]:
    setup = Setup(sink, subscriptions, hung)
    try:
        setup.start_broker()
        setup.produce(to_event(0))  # warm up: the broker is up once this arrives
        wait_count(sink, subscriptions, timeout=60)
        time.sleep(1.0)
        sink.reset()
        started = time.perf_counter()
        for n in range(rate * seconds):
            due = started + n / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            setup.produce(to_event(n, sent=time.time()))
        setup.producer.flush()
        stats = wait_count(sink, rate * seconds * subscriptions)
        return (*quantiles(stats["latencies"]), len(stats["latencies"]))
    finally:
        setup.stop()


def matching(stored: int = 100_000, matching_count: int = 10, events: int = 20_000) -> float:
    index = SubscriptionIndex()
    types = ["org.openstack.blazar.lease.event.start_lease", "org.openstack.blazar.lease.create"]
    for n in range(stored - matching_count):
        index.put(from_subscription_entry(Subscription(
            project_id=f"p{n % 20000}", sink="http://h/", types=[types[n % 2]],
            filters=[{"prefix": {"leaseid": "lease-"}}],
        )))  # fmt: skip
    for _ in range(matching_count):
        index.put(from_subscription_entry(Subscription(
            project_id=PROJECT, sink="http://h/", filters=[{"prefix": {"leaseid": "lease-"}}]
        )))  # fmt: skip
    attributes = {"projectid": PROJECT, "type": types[0], "leaseid": "lease-1", "id": "x"}
    timings = []
    for _ in range(events):
        started = time.perf_counter_ns()
        found = index.match(attributes)
        timings.append(time.perf_counter_ns() - started)
    assert len(found) == matching_count
    return statistics.median(timings) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000, help="backlog for throughput")
    parser.add_argument("--subscriptions", type=int, default=10)
    parser.add_argument("--rate", type=int, default=500, help="events/s for latency")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--only", help="comma-separated: throughput,latency,hung,matching")
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []
    sink = Sink()
    only = set(args.only.split(",")) if args.only else None
    try:
        with asyncio.Runner(loop_factory=to_loop_factory()) as runner:  # as the broker does
            base = runner.run(baseline(sink.url))
        rows.append(("baseline: one process POSTing, same client", f"{base:,.0f} requests/s"))
        rate = (
            throughput(sink, args.events, args.subscriptions)
            if not only or "throughput" in only
            else float("nan")
        )
        rows.append((f"broker throughput ({args.events} events x {args.subscriptions} subs)",
                     f"{rate:,.0f} deliveries/s = {rate / base:.2f} of baseline"))  # fmt: skip
        p50, p95, p99, n = (
            latency(sink, args.rate, args.seconds, args.subscriptions)
            if not only or "latency" in only
            else (float("nan"),) * 3 + (0,)
        )
        label = f"latency at {args.rate} events/s x {args.subscriptions} subs ({n} deliveries)"
        rows.append((label,
                     f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms"))  # fmt: skip
        h50, h95, h99, n = (
            latency(sink, args.rate, args.seconds, args.subscriptions, hung=True)
            if not only or "hung" in only
            else (float("nan"),) * 3 + (0,)
        )
        rows.append((f"same + 1 hung subscriber ({n} healthy deliveries)",
                     f"p50 {h50:.1f} ms, p95 {h95:.1f} ms, p99 {h99:.1f} ms "
                     f"(p99 {100 * (h99 - p99) / p99:+.0f} %)"))  # fmt: skip
    finally:
        sink.stop()
    match = matching()
    rows.append(("matching, 100,000 stored, 10 match (median)", f"{match:.1f} us"))
    width = max(len(name) for name, _ in rows)
    print(f"| {'scenario':<{width}} | result |\n|{'-' * (width + 2)}|--------|")
    for name, value in rows:
        print(f"| {name:<{width}} | {value} |")
    print(json.dumps({"cpus": os.cpu_count(), "load": os.getloadavg()}))


if __name__ == "__main__":
    main()
