"""Delivery benchmark: deliveries/s and end-to-end latency of the standalone broker, beside a
same-run baseline (one Python process POSTing straight to the same sink with the same client).

    .venv/bin/python bench/delivery/run.py            # needs `blazar-events stack up`

Scenarios (each prints one or more rows; see RESULTS.md for runs):
  baseline    the broker's HTTP client alone: one process, keep-alive, 64 concurrent POSTs
  client      that client against a raw one (pre-encoded requests, answers counted, no
              parser) in alternating rounds; --compare-client FILE measures another
              http1.py's HttpClient beside it (e.g. an earlier version)
  throughput  a backlog of E events on Kafka x S subscriptions, one broker process started after it
  latency     R events/s produced for D seconds x S subscriptions (Kafka produce -> sink), for
              each rate in --rates, with one broker process and with --brokers processes
  hung        healthy subscribers' p99 without and with one subscriber that never answers
              (timeout 10 s), in alternating rounds; the median paired change
  hostile     the same with a hostile neighbour instead: a sink that never answers, one that
              sends half a head and stalls, an ordered subscription whose sink answers 503,
              and a filter at the cost budget's edge (neighbours.py); each part alone with
              --only stall, ordered503 or filter
  cpu         broker CPU time per live delivery (one process, --cpu-rate events/s x S subs,
              all its threads, /proc) beside the CPU per request of the same client POSTing
              at the same pace in this process, alternating rounds; every latency row also
              gives its brokers' CPU per delivery
  matching    SubscriptionIndex.match with 100,000 subscriptions, 10 of them matching

Topics have 6 partitions, as `blazar-events stack up` creates blazar.events; the broker
processes share one consumer group, as two systemd units or two pods would.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import confluent_kafka
import httpx
import redis
from cloudevents.core.v1.event import CloudEvent
from neighbours import DESCRIBED, NEIGHBOURS, PROJECT

from blazar_events.records import KafkaRecord, to_record
from blazar_events.store import SubscriptionStore
from blazar_events.subscription import SigningKeys, Subscription
from broker.index import SubscriptionIndex, from_subscription_entry
from broker.service import to_loop_factory
from delivery.http1 import HttpClient
from stack.kafka import admin_client, create_topics

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
REDIS = "redis://127.0.0.1:6380/0"
KAFKA = "127.0.0.1:9092"
PARTITIONS = 6  # as `blazar-events stack up` creates blazar.events


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


def to_request_parts() -> tuple[dict[str, str], bytes]:
    """Headers and body of an event-sized delivery, as the broker sends them."""
    body = to_record(to_event(0)).value
    headers = {
        "content-type": "application/json",
        "webhook-id": "x" * 40,
        "webhook-timestamp": "1700000000",
        "webhook-signature": "v1," + "A" * 44,
    }
    return headers, body


LAST_CPU: list[float] = [0.0]  # requests per CPU-second of the last baseline measured


async def baseline(
    url: str, requests: int = 20000, concurrency: int = 64, client_class: Any = HttpClient
) -> float:
    """The same HTTP client the broker uses, with nothing else: the ceiling for one process."""
    headers, body = to_request_parts()
    client = client_class(lambda _address: None)

    async def worker(n: int) -> None:
        for _ in range(n):
            await client.request("POST", f"{url}/baseline", headers, body, timeout=10)

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(requests // concurrency) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    LAST_CPU[0] = (requests // concurrency * concurrency) / (time.process_time() - cpu)
    await client.close()
    return (requests // concurrency * concurrency) / elapsed


class _Raw(asyncio.Protocol):
    """The least a keep-alive client can do: write bytes, count answers of the bench sink."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")  # the sink answers "Content-Length: 0"
        if end >= 0 and self.waiter is not None:
            self.buffer = self.buffer[end + 4 :]
            self.waiter.set_result(None)


async def raw_baseline(url: str, requests: int = 20000, concurrency: int = 64) -> float:
    """No parser, no pool, no limits: pre-encoded requests on 64 connections, answers counted."""
    headers, body = to_request_parts()
    host, port = url.removeprefix("http://").split(":")
    head = ["POST /baseline HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    data = ("\r\n".join(head + [f"{k}: {v}" for k, v in headers.items()]) + "\r\n\r\n").encode()
    data += body
    loop = asyncio.get_running_loop()

    async def worker(n: int) -> None:
        transport, protocol = await loop.create_connection(_Raw, host, int(port))
        for _ in range(n):
            protocol.waiter = loop.create_future()
            transport.write(data)
            await protocol.waiter
        transport.close()

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(requests // concurrency) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    LAST_CPU[0] = (requests // concurrency * concurrency) / (time.process_time() - cpu)
    return (requests // concurrency * concurrency) / elapsed


def load_client(path: str) -> Any:
    """``HttpClient`` from another file, e.g. ``git show REV:delivery/http1.py > FILE``."""
    spec = importlib.util.spec_from_file_location("compared_http1", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.HttpClient


def client_alone(url: str, rounds: int, compare: str | None) -> list[tuple[str, str]]:
    """The client against the raw baseline, in alternating rounds of the same run (medians).

    Two ratios: of requests per wall-clock second, and of requests per CPU-second of this
    process (what one delivery costs; steadier when other processes share the cores).
    """
    clients: list[tuple[str, Any]] = [("delivery.http1", HttpClient)]
    if compare:
        clients.append((compare, load_client(compare)))
    raw: list[tuple[float, float]] = []
    ratios: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in clients}
    with asyncio.Runner(loop_factory=to_loop_factory()) as runner:
        for n in range(rounds):
            raw.append((runner.run(raw_baseline(url)), LAST_CPU[0]))
            for name, client_class in clients[:: 1 if n % 2 else -1]:  # alternate the order
                rate = runner.run(baseline(url, client_class=client_class))
                ratios[name].append((rate / raw[-1][0], LAST_CPU[0] / raw[-1][1]))
    rows = [(f"raw: one process, no parser ({rounds} rounds, median)",
             f"{statistics.median(r[0] for r in raw):,.0f} requests/s, "
             f"{statistics.median(r[1] for r in raw):,.0f} per CPU-second")]  # fmt: skip
    for name, values in ratios.items():
        wall = ", ".join(f"{value[0]:.2f}" for value in values)
        rows.append((f"client alone: {name}, of the raw baseline",
                     f"median {statistics.median(v[0] for v in values):.2f} ({wall}); "
                     f"per CPU-second {statistics.median(v[1] for v in values):.2f}"))  # fmt: skip
    return rows


class LoadProducer:
    """Stands in for the bridge: produces records to Kafka without taking the broker's CPU.

    The load generator shares the 2 cores with what it measures, so it must be light.
    kafka-python's producer (the bridge's) took 45 % of a core at 500 records/s with a 5 ms
    linger (one produce request per record and partition; bench/delivery/RESULTS.md), which
    the broker then lacked; librdkafka does the same produce in ~15 %. The bridge's own cost
    is bench/bridge's subject, not this one's. Same linger (5 ms) and murmur2 partitioning by
    lease id as the bridge.
    """

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self._producer = confluent_kafka.Producer({
            "bootstrap.servers": KAFKA, "linger.ms": 5, "acks": 1,
            "partitioner": "murmur2_random",
        })  # fmt: skip
        # A broker that joins its group before the new topic's metadata exists is assigned
        # nothing (kafka-python then waited minutes): start it once the topic is visible.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            topics = self._producer.list_topics(topic, timeout=5).topics
            found = topics.get(topic)
            if (
                found is not None
                and found.error is None
                and found.partitions
                and all(partition.leader >= 0 for partition in found.partitions.values())
            ):
                return
            time.sleep(0.1)
        raise SystemExit(f"topic {topic} has no metadata after 30 s")

    def produce(self, record: KafkaRecord, partition: int | None = None) -> None:
        self._producer.produce(
            self.topic, key=record.key, value=record.value, headers=list(record.headers),
            partition=-1 if partition is None else partition,  # -1: by key, as the bridge
        )  # fmt: skip
        self._producer.poll(0)

    def flush(self) -> None:
        self._producer.flush(30)

    def close(self) -> None:
        self.flush()


class Setup:
    """A private topic, Redis prefix and consumer group, and S subscriptions to the sink."""

    def __init__(
        self, sink: Sink, subscriptions: int, neighbour: str = "", partitions: int = PARTITIONS
    ) -> None:
        tag = uuid.uuid4().hex[:8]
        self.topic, self.prefix = f"bench.delivery.{tag}", f"bench-delivery-{tag}"
        create_topics(KAFKA, {self.topic: partitions})
        self.client = redis.Redis.from_url(REDIS)
        store = SubscriptionStore(self.client, self.prefix)
        for n in range(subscriptions):
            store.create(Subscription(project_id=PROJECT, sink=f"{sink.url}/s{n}"),
                         SigningKeys.generate())  # fmt: skip
        for neighbour_sub in NEIGHBOURS.get(neighbour, []):
            store.create(neighbour_sub(sink.url), SigningKeys.generate())
        self.producer = LoadProducer(self.topic)
        self.brokers: list[subprocess.Popen[bytes]] = []
        self.log = (Path(tempfile.gettempdir()) / f"{self.prefix}.log").open("wb")

    def produce(self, event: CloudEvent, partition: int | None = None) -> None:
        self.producer.produce(to_record(event), partition)

    def start_brokers(self, count: int = 1) -> None:
        """``count`` broker processes in one consumer group, as a host with that many cores runs."""
        config = Path(tempfile.mkdtemp()) / "empty.conf"
        config.write_text("")  # settings come from the environment only
        env = {**os.environ, "BLAZAR_EVENTS_CONFIG_FILE": str(config),
               "BLAZAR_EVENTS_REDIS_KEY_PREFIX": self.prefix,
               "BLAZAR_EVENTS_KAFKA_TOPIC": self.topic,
               "BLAZAR_EVENTS_KAFKA_DLQ_TOPIC": self.topic + ".dlq",
               "BLAZAR_EVENTS_BROKER_GROUP_ID": self.prefix,
               "BLAZAR_EVENTS_BROKER_PORT": os.environ.get("BLAZAR_EVENTS_BROKER_PORT", "0"),
               "BLAZAR_EVENTS_BROKER_LOG_SUCCESSES_PER_SECOND": "5",
               "BLAZAR_EVENTS_EGRESS_ALLOWED_NETWORKS": "127.0.0.0/8"}  # fmt: skip
        command = [sys.executable, "-m", "blazar_events.cli", "broker"]
        self.brokers = [
            subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT)
            for _ in range(count)
        ]

    def stop(self) -> None:
        for broker in self.brokers:
            broker.terminate()
        for broker in self.brokers:
            try:
                broker.wait(60)
            except subprocess.TimeoutExpired:
                print(f"a broker did not stop; its log: {self.log.name}", file=sys.stderr)
                broker.kill()
        self.producer.close()
        for key in self.client.scan_iter(f"{self.prefix}:*"):
            self.client.delete(key)


def wait_count(sink: Sink, count: int, timeout: float = 300) -> dict[str, Any]:
    """Until ``count`` answered deliveries (the hung subscriber's never count) arrived."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = sink.stats()
        if stats["healthy"] >= count:
            return stats
        time.sleep(0.5)
    raise SystemExit(f"only {sink.stats()['healthy']} of {count} deliveries arrived")


def throughput(sink: Sink, events: int, subscriptions: int) -> float:
    setup = Setup(sink, subscriptions)
    try:
        for n in range(events):
            setup.produce(to_event(n))
        setup.producer.flush()
        sink.reset()
        setup.start_brokers()
        stats = wait_count(sink, events * subscriptions)
        return float(stats["count"] / (stats["last"] - stats["first"]))
    finally:
        setup.stop()


def wait_group(group: str, members: int, timeout: float = 60) -> None:
    """Until the consumer group is Stable with ``members`` members (no rebalance pending)."""
    admin = admin_client(KAFKA)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        future = admin.describe_consumer_groups([group], request_timeout=10)[group]
        try:
            description = future.result()
        except confluent_kafka.KafkaException:
            description = None  # not known to the coordinator yet
        if (
            description is not None
            and description.state == confluent_kafka.ConsumerGroupState.STABLE
            and len(description.members) == members
        ):
            return
        time.sleep(0.2)
    raise SystemExit(f"consumer group {group} did not settle with {members} members")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


PROFILE: list[Path] = []  # --profile: where py-spy writes each measured broker's samples


def profile(pid: int, name: str) -> subprocess.Popen[bytes]:
    """py-spy sampling one broker (all threads, without pausing it), as collapsed stacks."""
    output = PROFILE[0] / f"{name}.txt"
    command = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
               "--nonblocking", "--threads", "--gil", "--rate", "250", "--format", "raw",
               "--output", str(output)]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@dataclass(frozen=True)
class LiveRun:
    """One latency run: the healthy deliveries' quantiles (ms) and what the brokers spent."""

    p50: float
    p95: float
    p99: float
    deliveries: int
    cpu: float  # broker CPU seconds from the first event produced to the last delivery
    idle_cpu: float  # broker CPU seconds per second while nothing was produced

    @property
    def cpu_per_delivery(self) -> float:
        """Microseconds of broker CPU per healthy delivery."""
        return self.cpu / max(1, self.deliveries) * 1e6


def latency(
    sink: Sink, rate: int, seconds: int, subscriptions: int, brokers: int, neighbour: str = ""
) -> LiveRun:
    setup = Setup(sink, subscriptions, neighbour)
    try:
        setup.start_brokers(brokers)
        wait_group(setup.prefix, brokers)
        for partition in range(PARTITIONS):  # warm up every member: each partition once
            setup.produce(to_event(partition), partition)
        wait_count(sink, PARTITIONS * subscriptions, timeout=60)
        time.sleep(1.0)
        pids = [broker.pid for broker in setup.brokers]
        idle_from = sum(cpu_seconds(pid) for pid in pids)
        time.sleep(2.0)
        cpu_from = sum(cpu_seconds(pid) for pid in pids)
        idle = (cpu_from - idle_from) / 2.0
        profilers = [profile(pid, f"{setup.prefix}-{neighbour or 'alone'}-{n}")
                     for n, pid in enumerate(pids)] if PROFILE else []  # fmt: skip
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
        cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_from
        for profiler in profilers:
            profiler.send_signal(signal.SIGINT)  # py-spy writes its samples and ends
            profiler.wait(30)
        return LiveRun(*quantiles(stats["latencies"]), len(stats["latencies"]), cpu, idle)
    finally:
        setup.stop()


async def paced_baseline(url: str, rate: int, seconds: int, subscriptions: int) -> float:
    """CPU per request (us) of the same client POSTing as a live broker does: ``rate`` events
    a second, each one POSTed to ``subscriptions`` sinks at once (no signing, no Kafka)."""
    headers, body = to_request_parts()
    client = HttpClient(lambda _address: None)
    loop = asyncio.get_running_loop()

    async def post() -> None:
        await client.request("POST", f"{url}/baseline", headers, body, timeout=10)

    await asyncio.gather(*(post() for _ in range(subscriptions)))  # connections opened
    tasks: list[asyncio.Task[None]] = []
    cpu, started = time.process_time(), loop.time()
    for n in range(rate * seconds):
        pause = started + n / rate - loop.time()
        if pause > 0:
            await asyncio.sleep(pause)
        tasks += [loop.create_task(post()) for _ in range(subscriptions)]
    await asyncio.gather(*tasks)
    spent = time.process_time() - cpu
    await client.close()
    return spent / len(tasks) * 1e6


def cpu_per_delivery(
    sink: Sink, rate: int, seconds: int, subscriptions: int, rounds: int
) -> list[tuple[str, str]]:
    """Broker CPU per live delivery (one process) beside the client's own per request at the
    same pace, in alternating rounds (medians)."""
    client: list[float] = []
    runs: list[LiveRun] = []
    for _ in range(rounds):
        with asyncio.Runner(loop_factory=to_loop_factory()) as runner:
            client.append(runner.run(paced_baseline(sink.url, rate, seconds, subscriptions)))
        sink.reset()
        runs.append(latency(sink, rate, seconds, subscriptions, 1))
    per = [run.cpu_per_delivery for run in runs]
    ratios = [broker / raw for broker, raw in zip(per, client, strict=True)]
    listed = ", ".join(f"{value:.0f}" for value in per)
    return [
        (f"client alone at {rate} events/s x {subscriptions} POSTs: CPU per request "
         f"({rounds} rounds, median)",
         f"{statistics.median(client):.1f} us ({', '.join(f'{c:.1f}' for c in client)})"),
        (f"broker CPU per live delivery, {rate} events/s x {subscriptions} subs, 1 process",
         f"median {statistics.median(per):.0f} us ({listed}) = "
         f"{statistics.median(ratios):.1f}x the client's; idle broker "
         f"{statistics.median(r.idle_cpu for r in runs) * 1000:.0f} ms CPU/s; "
         f"p99 {statistics.median(r.p99 for r in runs):.1f} ms"),
    ]  # fmt: skip


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


def neighbour_effect(
    sink: Sink,
    rate: int,
    seconds: int,
    subscriptions: int,
    brokers: int,
    rounds: int,
    neighbour: str,
) -> tuple[list[tuple[LiveRun, LiveRun]], float]:
    """Healthy subscribers' p99 without and with a bad neighbour, in alternating rounds.

    The machine's drift between two runs is larger than the effect sought, so the runs
    alternate (without, with, without, with, ...) and the median of the paired changes is
    the figure.
    """
    pairs = []
    for _ in range(rounds):
        without = latency(sink, rate, seconds, subscriptions, brokers)
        with_bad = latency(sink, rate, seconds, subscriptions, brokers, neighbour)
        pairs.append((without, with_bad))
    change = statistics.median(100 * (bad.p99 - alone.p99) / alone.p99 for alone, bad in pairs)
    return pairs, change


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000, help="backlog for throughput")
    parser.add_argument("--subscriptions", type=int, default=10)
    parser.add_argument("--rates", default="200,300,500",
                        help="events/s for the latency rows, comma-separated")  # fmt: skip
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--brokers", type=int, default=2,
                        help="broker processes for the latency rows (one per core)")  # fmt: skip
    parser.add_argument("--hung-rate", type=int, default=200, help="events/s for the hung rows")
    parser.add_argument("--rounds", type=int, default=3, help="alternating hung/no-hung pairs")
    parser.add_argument(
        "--only",
        help="comma-separated: client,throughput,latency,cpu,hung,hostile,matching; "
        "or a part of the hostile neighbour alone: stall,ordered503,filter",
    )
    parser.add_argument("--cpu-rate", type=int, default=200, help="events/s for the cpu rows")
    parser.add_argument("--profile", type=Path,
                        help="a directory: py-spy (pip install py-spy) samples each broker's "
                        "measured window there, as collapsed stacks")  # fmt: skip
    parser.add_argument("--client-rounds", type=int, default=5, help="alternating client rounds")
    parser.add_argument("--compare-client", help="an http1.py whose HttpClient to measure too")
    args = parser.parse_args()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        PROFILE.append(args.profile)
    rows: list[tuple[str, str]] = []
    everything = {"client", "throughput", "latency", "cpu", "hung", "hostile", "matching"}
    only = set(args.only.split(",")) if args.only else everything
    subs = args.subscriptions
    sink = Sink()
    try:
        if "client" in only:
            rows += client_alone(sink.url, args.client_rounds, args.compare_client)
        with asyncio.Runner(loop_factory=to_loop_factory()) as runner:  # as the broker does
            base = runner.run(baseline(sink.url))
        rows.append(("baseline: one process POSTing, same client", f"{base:,.0f} requests/s"))
        if "throughput" in only:
            rate = throughput(sink, args.events, subs)
            rows.append((f"throughput, 1 broker process ({args.events} events x {subs} subs)",
                         f"{rate:,.0f} deliveries/s = {rate / base:.2f} of baseline"))  # fmt: skip
        if "latency" in only:
            for events_per_second in (int(r) for r in args.rates.split(",")):
                for brokers in sorted({1, args.brokers}):
                    run = latency(sink, events_per_second, args.seconds, subs, brokers)
                    rows.append((
                        f"latency, {events_per_second} events/s x {subs} subs, "
                        f"{brokers} broker process(es) ({run.deliveries} deliveries)",
                        f"p50 {run.p50:.1f} ms, p95 {run.p95:.1f} ms, p99 {run.p99:.1f} ms; "
                        f"broker CPU {run.cpu_per_delivery:.0f} us per delivery",
                    ))  # fmt: skip
        if "cpu" in only:
            rows += cpu_per_delivery(sink, args.cpu_rate, args.seconds, subs, args.rounds)
        for neighbour in NEIGHBOURS:
            if neighbour not in only:
                continue
            pairs, change = neighbour_effect(
                sink, args.hung_rate, args.seconds, subs, args.brokers, args.rounds, neighbour
            )
            listed = ", ".join(f"{alone.p99:.1f} -> {bad.p99:.1f}" for alone, bad in pairs)
            cpu = ", ".join(
                f"{a.cpu_per_delivery:.0f} -> {b.cpu_per_delivery:.0f}" for a, b in pairs
            )
            rows.append((
                f"+ {DESCRIBED[neighbour]}, {args.hung_rate} events/s, {args.brokers} "
                "process(es): healthy p99 without -> with, ms",
                f"{listed}; median change {change:+.0f} %; broker CPU per healthy delivery "
                f"without -> with, us: {cpu}",
            ))  # fmt: skip
    finally:
        sink.stop()
    if "matching" in only:
        rows.append(("matching, 100,000 stored, 10 match (median)", f"{matching():.1f} us"))
    width = max(len(name) for name, _ in rows)
    print(f"| {'scenario':<{width}} | result |\n|{'-' * (width + 2)}|--------|")
    for name, value in rows:
        print(f"| {name:<{width}} | {value} |")
    print(json.dumps({"cpus": os.cpu_count(), "load": os.getloadavg()}))


if __name__ == "__main__":
    main()
