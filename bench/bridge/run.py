"""Bridge benchmark: throughput, added latency and memory, beside a bare baseline.

    .venv/bin/python bench/bridge/run.py [--count 100000] [--latency-count 2000]

Needs the local stack (``blazar-events stack up``). Each phase uses a fresh exchange,
queue and Kafka topic, so the numbers never mix and the stack is left as it was (apart
from the topics).

1. Baseline throughput: a backlog of ``--count`` Blazar notifications (messagingv2 bodies,
   as oslo.messaging serialises them) is published; then a bare loop consumes them with
   kombu and produces each body unchanged with confluent-kafka (the bridge's client),
   batched and acknowledged like the bridge (same prefetch, batch size, acks,
   idempotence), no translation. It keeps the 20 ms
   batch fill and 5 ms linger the bridge had until issue 13 (the bridge now sends at once
   and batches while Kafka confirms), so its figures compare with the earlier runs.
2. Bridge throughput: the same backlog, drained by ``blazar-events bridge`` as a process;
   its peak RSS (VmHWM) is read from /proc.
3. Latency: notifications published at a steady ``--rate`` through both paths; latency is
   Kafka arrival (seen by a consumer polling every 10 ms) minus publish time.
"""

from __future__ import annotations

import argparse
import copy
import fcntl
import json
import os
import platform
import resource
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import kombu
from confluent_kafka import Consumer, Producer

from blazar_events.kafkaproducer import Confirmation
from blazar_events.settings import KafkaSettings
from stack import layout

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "blazar" / "v2-lease.event.start_lease.json"
AMQP_URL, TRANSPORT_URL, KAFKA = layout.AMQP_URL, layout.TRANSPORT_URL, layout.KAFKA_BOOTSTRAP
PHASE_LIMIT = 600.0  # seconds; a phase that takes longer has lost messages or a service
PREFETCH, BATCH = 1000, 500  # the bridge's defaults, used by the baseline too


class Route:
    def __init__(self, name: str) -> None:
        tag = uuid.uuid4().hex[:8]
        self.exchange = f"bench-{name}-{tag}"
        self.queue = f"bench-{name}-{tag}"
        self.topic = f"bench.{name}.{tag}"
        self.exchange_entity = kombu.Exchange(self.exchange, type="topic", durable=False)

    def declare(self, conn: kombu.Connection) -> None:
        queue = kombu.Queue(
            self.queue, self.exchange_entity, routing_key="notifications.info", durable=True
        )
        queue(conn.channel()).declare()

    def delete(self, conn: kombu.Connection) -> None:
        channel = conn.channel()
        channel.queue_delete(self.queue)
        channel.exchange_delete(self.exchange)


TEMPLATE = json.loads(json.loads(FIXTURE.read_text())["oslo.message"])


def body(stamp: float | None = None) -> bytes:
    """One oslo messagingv2 body as blazar-manager sends it: fresh ids, a real lease payload."""
    message = copy.deepcopy(TEMPLATE)
    message["message_id"] = str(uuid.uuid4())
    message["payload"]["lease_id"] = str(uuid.uuid4())
    if stamp is not None:
        message["payload"]["bench_published_at"] = stamp
    return json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(message)}).encode()


def publish(route: Route, count: int, rate: float | None = None) -> None:
    with kombu.Connection(AMQP_URL) as conn:
        producer = conn.Producer(serializer=None)
        began = time.monotonic()
        for i in range(count):
            if rate:
                delay = began + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            producer.publish(
                body(time.time() if rate else None),
                exchange=route.exchange_entity,
                routing_key="notifications.info",
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
            )


def config() -> dict[str, Any]:
    return KafkaSettings.load(bootstrap_servers=[KAFKA]).librdkafka_config()


def producer() -> Producer:
    return Producer(
        {
            **config(),
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 5,
            "batch.size": 256 * 1024,
        }
    )


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of a process (this one by default), threads included."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def baseline(route: Route, count: int, stop: threading.Event | None = None) -> float:
    """Bare consume -> produce -> ack loop; returns seconds to move ``count`` messages."""
    kafka = producer()
    pending: list[tuple[int, bytes]] = []
    with kombu.Connection(AMQP_URL) as conn:
        conn.connect()
        # The same socket read-ahead the bridge uses (bridge/consumer.py), so that the
        # ratio measures what translation costs, not a transport difference.
        sock = conn.connection.transport.sock
        conn.connection.transport._quick_recv = lambda n: sock.recv(max(n, 16 * 1024))
        channel = conn.channel()
        channel.auto_decode = False  # raw bytes, as the bridge reads them
        channel.basic_qos(0, PREFETCH, False)

        def on_message(message: Any) -> None:
            pending.append((message.delivery_info["delivery_tag"], message.body))

        channel.basic_consume(queue=route.queue, callback=on_message, no_ack=False)
        done = 0
        began = time.monotonic()
        while done < count and not (stop and stop.is_set()):
            if time.monotonic() - began > PHASE_LIMIT:
                raise SystemExit(f"baseline: only {done} of {count} arrived; is the stack up?")
            # Collect like the bridge: up to BATCH, or what came within 20 ms of the first.
            first = time.monotonic()
            while len(pending) < BATCH:
                left = (first + 0.02 - time.monotonic()) if pending else 1.0
                if left <= 0:
                    break
                try:
                    conn.drain_events(timeout=left)
                except TimeoutError:
                    if not pending:
                        break
            if not pending:
                continue
            confirmations = []
            for _, value in pending:
                confirmations.append(Confirmation())
                kafka.produce(route.topic, value=value, on_delivery=confirmations[-1])
            kafka.flush()
            if any(c.error() is not None or not c.done() for c in confirmations):
                raise SystemExit("baseline: Kafka did not take a batch")
            channel.basic_ack(pending[-1][0], multiple=True)
            done += len(pending)
            pending.clear()
        elapsed = time.monotonic() - began
    kafka.flush(5)
    return elapsed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BridgeProcess:
    def __init__(self, route: Route) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "BLAZAR_EVENTS_BRIDGE_TRANSPORT_URL": TRANSPORT_URL,
            "BLAZAR_EVENTS_BRIDGE_EXCHANGE": route.exchange,
            "BLAZAR_EVENTS_BRIDGE_POOL": route.queue,
            "BLAZAR_EVENTS_BRIDGE_PORT": str(self.port),
            "BLAZAR_EVENTS_BRIDGE_LOG_LEVEL": "WARNING",
            "BLAZAR_EVENTS_KAFKA_BOOTSTRAP_SERVERS": KAFKA,
            "BLAZAR_EVENTS_KAFKA_TOPIC": route.topic,
            "BLAZAR_EVENTS_KAFKA_REJECTED_TOPIC": route.topic + ".rejected",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "blazar_events.cli", "bridge"], env=env
        )

    def counter(self, name: str) -> float:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
                text = r.read().decode()
        except OSError:
            return -1.0
        for line in text.splitlines():
            if line.startswith(f"blazar_events_bridge_{name}_total "):
                return float(line.split()[1])
        return -1.0

    def rss_mb(self, field: str = "VmHWM") -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def bridge_throughput(route: Route, count: int) -> tuple[float, float, float]:
    """Seconds to forward ``count``, peak RSS (MB) and CPU seconds spent meanwhile."""
    bridge = BridgeProcess(route)
    try:
        while bridge.counter("received") <= 0:  # started: connected and consuming
            time.sleep(0.01)
        began, cpu = time.monotonic(), cpu_seconds(bridge.process.pid)
        while (forwarded := bridge.counter("forwarded")) < count:
            if time.monotonic() - began > PHASE_LIMIT:
                raise SystemExit(f"bridge: only {forwarded:.0f} of {count} forwarded")
            time.sleep(0.05)
        elapsed = time.monotonic() - began
        return elapsed, bridge.rss_mb(), cpu_seconds(bridge.process.pid) - cpu
    finally:
        bridge.stop()


def latencies(topic: str, count: int, extract: Any, ready: threading.Event) -> list[float]:
    consumer = Consumer(
        {
            **config(),
            "group.id": f"bench-latency-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 10,
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    while not consumer.assignment():
        consumer.poll(0.1)
    ready.set()
    found: list[float] = []
    deadline = time.monotonic() + 600
    while len(found) < count and time.monotonic() < deadline:
        messages = [m for m in consumer.consume(500, 0.01) if m.error() is None]
        now = time.time()
        found.extend(now - extract(m.value()) for m in messages)
    consumer.close()
    return found


def measure_latency(kind: str, count: int, rate: float) -> list[float]:
    route = Route(f"lat-{kind}")
    with kombu.Connection(AMQP_URL) as conn:
        route.declare(conn)
    stop = threading.Event()
    if kind == "baseline":
        worker = threading.Thread(target=baseline, args=(route, count, stop), daemon=True)
        worker.start()

        def extract(value: bytes) -> float:
            stamp: float = json.loads(json.loads(value)["oslo.message"])["payload"][
                "bench_published_at"
            ]
            return stamp
    else:
        bridge = BridgeProcess(route)
        while bridge.counter("received") < 0:
            time.sleep(0.05)

        def extract(value: bytes) -> float:
            stamp: float = json.loads(value)["bench_published_at"]
            return stamp

    # The topic must exist before the consumer subscribes: one warm-up message creates it.
    warm = producer()
    warm.produce(route.topic, value=b"{}")
    if warm.flush(30):
        raise SystemExit(f"latency: Kafka did not take the warm-up record on {route.topic}")
    ready = threading.Event()
    result: list[float] = []
    reader = threading.Thread(
        target=lambda: result.extend(
            latencies(
                route.topic, count, lambda v: extract(v) if v != b"{}" else time.time(), ready
            )
        ),
        daemon=True,
    )
    reader.start()
    ready.wait(60)
    publish(route, count, rate)
    reader.join(timeout=600)
    stop.set()
    if kind != "baseline":
        bridge.stop()
    with kombu.Connection(AMQP_URL) as conn:
        route.delete(conn)
    return [x for x in result if x > 0][:count]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--latency-count", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0, help="latency phase, msgs/s")
    args = parser.parse_args()

    # Fault tests stop RabbitMQ or Kafka while holding this lock exclusively (see
    # tests/conftest.py); holding it shared keeps them from doing so mid-measurement.
    lock = (layout.stack_dir() / "faults.lock").open("a")
    fcntl.flock(lock, fcntl.LOCK_SH)
    results: dict[str, Any] = {"load_average_before": os.getloadavg()}
    for kind in ("baseline", "bridge"):
        route = Route(kind)
        with kombu.Connection(AMQP_URL) as conn:
            route.declare(conn)
        began = time.monotonic()
        publish(route, args.count)
        print(f"{kind}: published {args.count} in {time.monotonic() - began:.1f}s", flush=True)
        if kind == "baseline":
            cpu = cpu_seconds()
            elapsed, rss = baseline(route, args.count), 0.0
            cpu = cpu_seconds() - cpu
        else:
            elapsed, rss, cpu = bridge_throughput(route, args.count)
        results[kind] = {
            "seconds": elapsed,
            "rate": args.count / elapsed,
            "rss_mb": rss,
            "cpu_us_per_notification": cpu / args.count * 1e6,
        }
        print(
            f"{kind}: {args.count / elapsed:,.0f} notifications/s, "
            f"{cpu / args.count * 1e6:.0f} us CPU each",
            flush=True,
        )
        with kombu.Connection(AMQP_URL) as conn:
            route.delete(conn)
    for kind in ("baseline", "bridge"):
        found = measure_latency(kind, args.latency_count, args.rate)
        results[kind]["p50_ms"] = pct(found, 50)
        results[kind]["p99_ms"] = pct(found, 99)
        results[kind]["latency_samples"] = len(found)
        print(f"{kind}: latency p50 {pct(found, 50):.1f} ms, p99 {pct(found, 99):.1f} ms")
    results["ratio"] = results["bridge"]["rate"] / results["baseline"]["rate"]
    results["load_average_after"] = os.getloadavg()
    results["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
