"""Latency benchmark: one lease event at a time from Blazar's notifier to a subscriber's sink.

    .venv/bin/python -u bench/latency/run.py [--events 300] [--gap 0.05]

Needs the local stack (``blazar-events stack up``; BLAZAR_EVENTS_STACK_DIR names it). Two
paths run side by side on private names (an exchange, queues, topics, a Redis prefix and
a consumer group of their own), and events alternate between them, one at a time:

  pipeline  oslo.messaging's ``Notifier`` set up as blazar-manager sets it up (messagingv2,
            publisher ``blazar.lease``, durable exchange) -> RabbitMQ -> ``blazar-events
            bridge`` -> Kafka -> ``blazar-events broker`` -> a signed POST to the sink
  bare      the same notifier -> RabbitMQ -> a loop that produces the body to Kafka and
            then acknowledges -> a loop that consumes Kafka and POSTs each record
            (bench/latency/bare.py: the same clients, no logic)

An event is published only after the previous one arrived (plus ``--gap`` idle seconds),
so every figure is the latency of an idle pipeline: ``Notifier.info`` called to request
read by the sink (an HTTP/1.1 server in this process, same clock); the minimum and p10
show what a path costs when the machine's scheduler does not get in the way. Also: CPU
milliseconds per event of each path's two processes over the measured phase (their idle
loops included), and the load average.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

import kombu
import redis
from confluent_kafka.admin import AdminClient, NewTopic

from blazar_events.store import SubscriptionStore
from blazar_events.subscription import SigningKeys, Subscription
from stack import layout

with warnings.catch_warnings():  # oslo's eventlet deprecation notice, on import
    warnings.simplefilter("ignore")
    import oslo_messaging
    from oslo_config import cfg

HERE = Path(__file__).resolve().parent
PROJECT = "benchproject0000000000000000000001"
PARTITIONS = 6  # as `blazar-events stack up` creates blazar.events
MARK = re.compile(rb"latbench(\d+)x")
ARRIVAL_TIMEOUT = 10.0  # seconds; an event later than that is counted lost


class Sink:
    """Records the perf_counter at which each event's request was read, by path and seq."""

    def __init__(self) -> None:
        self.arrived: dict[tuple[str, int], float] = {}
        self.condition = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                now = time.perf_counter()
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                found = MARK.search(body)
                if found:
                    with sink.condition:
                        sink.arrived.setdefault((self.path, int(found.group(1))), now)
                        sink.condition.notify_all()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, path: str, seq: int, timeout: float) -> float | None:
        with self.condition:
            self.condition.wait_for(lambda: (path, seq) in self.arrived, timeout)
            return self.arrived.get((path, seq))

    def stop(self) -> None:
        self.server.shutdown()


class Notifiers:
    """Blazar's notifier (blazar.conf as blazar-manager reads it), one per notification topic."""

    def __init__(self, exchange: str, topics: list[str], config_dir: Path) -> None:
        conf_file = config_dir / "blazar.conf"
        conf_file.write_text(
            f"[DEFAULT]\ncontrol_exchange = {exchange}\n"
            "[oslo_messaging_notifications]\ndriver = messagingv2\n"
            "[oslo_messaging_rabbit]\namqp_durable_queues = true\n"
        )
        self.conf = cfg.ConfigOpts()
        self.conf(["--config-file", str(conf_file)], project="blazar")
        self.transport = oslo_messaging.get_notification_transport(
            self.conf, url=layout.TRANSPORT_URL
        )
        self.by_topic = {
            topic: oslo_messaging.Notifier(
                self.transport, publisher_id="blazar.lease", driver="messagingv2", topics=[topic]
            )
            for topic in topics
        }

    def publish(self, topic: str, seq: int) -> None:
        lease = str(uuid.uuid4())
        payload = {
            "lease_id": lease, "user_id": "benchuser", "project_id": PROJECT,
            "trust_id": uuid.uuid4().hex, "status": "ACTIVE", "degraded": False,
            "start_date": "2026-12-01T12:00:00.000000", "end_date": "2026-12-01T14:00:00.000000",
            "reservations": [{"id": str(uuid.uuid4()), "lease_id": lease,
                              "resource_type": "physical:host", "status": "active",
                              "min": 1, "max": 1}],
            "events": [], "name": f"latbench{seq}x",
            "created_at": "2026-12-01 11:00:00", "updated_at": "2026-12-01 11:00:00",
        }  # fmt: skip
        context = {"project_id": PROJECT, "user_id": "benchuser"}
        self.by_topic[topic].info(context, "lease.event.start_lease", payload)

    def close(self) -> None:
        self.transport.cleanup()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "?"


class Run:
    """The private names, the four processes and the subscription of one benchmark run."""

    def __init__(self, sink: Sink, log: TextIO) -> None:
        tag = uuid.uuid4().hex[:8]
        self.tag = tag
        self.exchange = f"bench-latency-{tag}"
        self.pipe_topic, self.bare_topic = f"latpipe{tag}", f"latbare{tag}"  # oslo topics
        self.kafka_pipe, self.kafka_bare = f"bench.latency.{tag}", f"bench.latency.bare.{tag}"
        self.queues = [f"bench-latency-{tag}", f"bench-latency-bare-{tag}"]
        self.prefix = f"bench-latency-{tag}"
        self.log = log
        admin = AdminClient({"bootstrap.servers": layout.KAFKA_BOOTSTRAP})
        for done in admin.create_topics([
            NewTopic(self.kafka_pipe, PARTITIONS, 1), NewTopic(self.kafka_bare, PARTITIONS, 1),
            NewTopic(self.kafka_pipe + ".rejected", 1, 1), NewTopic(self.kafka_pipe + ".dlq", 1, 1),
        ]).values():  # fmt: skip
            done.result(30)
        self.redis = redis.Redis.from_url(layout.REDIS_URL)
        SubscriptionStore(self.redis, self.prefix).create(
            Subscription(project_id=PROJECT, sink=f"{sink.url}/pipeline"), SigningKeys.generate()
        )
        config = Path(tempfile.mkdtemp()) / "empty.conf"
        config.write_text("")  # settings from the environment only
        env = {
            **os.environ,
            "BLAZAR_EVENTS_CONFIG_FILE": str(config),
            "BLAZAR_EVENTS_REDIS_URL": layout.REDIS_URL,
            "BLAZAR_EVENTS_REDIS_KEY_PREFIX": self.prefix,
            "BLAZAR_EVENTS_KAFKA_BOOTSTRAP_SERVERS": layout.KAFKA_BOOTSTRAP,
            "BLAZAR_EVENTS_KAFKA_TOPIC": self.kafka_pipe,
            "BLAZAR_EVENTS_KAFKA_REJECTED_TOPIC": self.kafka_pipe + ".rejected",
            "BLAZAR_EVENTS_KAFKA_DLQ_TOPIC": self.kafka_pipe + ".dlq",
            "BLAZAR_EVENTS_BRIDGE_TRANSPORT_URL": layout.TRANSPORT_URL,
            "BLAZAR_EVENTS_BRIDGE_EXCHANGE": self.exchange,
            "BLAZAR_EVENTS_BRIDGE_EXCHANGE_DURABLE": "true",
            "BLAZAR_EVENTS_BRIDGE_POOL": self.queues[0],
            "BLAZAR_EVENTS_BRIDGE_TOPICS": self.pipe_topic,
            "BLAZAR_EVENTS_BRIDGE_HTTP_PORT": "0",
            "BLAZAR_EVENTS_BRIDGE_LOG_LEVEL": "WARNING",
            "BLAZAR_EVENTS_BROKER_GROUP_ID": self.prefix,
            "BLAZAR_EVENTS_BROKER_PORT": "0",
            "BLAZAR_EVENTS_DELIVERY_ALLOWED_NETWORKS": "127.0.0.0/8",
        }
        cli = [sys.executable, "-m", "blazar_events.cli"]
        self.pipeline = [
            subprocess.Popen([*cli, name], env=env, stdout=log, stderr=subprocess.STDOUT)
            for name in ("bridge", "broker")
        ]
        bare = [sys.executable, str(HERE / "bare.py")]
        self.bare = [
            subprocess.Popen(
                [*bare, "relay", self.queues[1], self.exchange, f"{self.bare_topic}.info",
                 self.kafka_bare],
                stdout=subprocess.PIPE, stderr=log, text=True,
            ),
            subprocess.Popen(
                [*bare, "post", self.kafka_bare, f"{sink.url}/bare"],
                stdout=subprocess.PIPE, stderr=log, text=True,
            ),
        ]  # fmt: skip
        for process in self.bare:
            assert process.stdout is not None
            if process.stdout.readline().strip() != "ready":
                self.stop()  # or the pipeline's processes outlive the bench
                raise SystemExit(f"a bare loop did not start; see {log.name}")

    def cpu(self) -> dict[str, float]:
        return {
            "pipeline": sum(cpu_seconds(p.pid) for p in self.pipeline),
            "bare": sum(cpu_seconds(p.pid) for p in self.bare),
        }

    def stop(self) -> None:
        for process in self.pipeline + self.bare:
            process.terminate()
        for process in self.pipeline + self.bare:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        with kombu.Connection(layout.AMQP_URL) as conn:
            channel = conn.channel()
            # oslo's notifier declares and binds a queue per topic ("<topic>.info") that
            # keeps every notification: those go too.
            for queue in [*self.queues, f"{self.pipe_topic}.info", f"{self.bare_topic}.info"]:
                channel.queue_delete(queue)
            channel.exchange_delete(self.exchange)
        for key in self.redis.scan_iter(f"{self.prefix}:*"):
            self.redis.delete(key)
        admin = AdminClient({"bootstrap.servers": layout.KAFKA_BOOTSTRAP})
        for done in admin.delete_topics([self.kafka_pipe, self.kafka_bare,
                                         self.kafka_pipe + ".rejected",
                                         self.kafka_pipe + ".dlq"]).values():  # fmt: skip
            done.result(30)


def warm_up(notifiers: Notifiers, sink: Sink, topic: str, path: str, first: int) -> int:
    """Publish until one event arrives (the bridge's queue may not be bound yet), then 5 more."""
    seq, deadline = first, time.monotonic() + 120
    while time.monotonic() < deadline:
        notifiers.publish(topic, seq)
        if sink.wait(path, seq, 2.0) is not None:
            break
        seq += 1
    else:
        raise SystemExit(f"nothing arrived on {path} within 120 s")
    for _ in range(5):
        seq += 1
        notifiers.publish(topic, seq)
        if sink.wait(path, seq, ARRIVAL_TIMEOUT) is None:
            raise SystemExit(f"a warm-up event was lost on {path}")
    return seq + 1


def quantile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300, help="events per path")
    parser.add_argument("--gap", type=float, default=0.05, help="idle seconds between events")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    # Fault tests stop services while holding this lock exclusively: hold it shared.
    lock = (layout.stack_dir() / "faults.lock").open("a")
    fcntl.flock(lock, fcntl.LOCK_SH)
    load_before = os.getloadavg()
    sink = Sink()
    log = Path(tempfile.gettempdir()) / f"bench-latency-{uuid.uuid4().hex[:8]}.log"
    config_dir = Path(tempfile.mkdtemp())
    with log.open("w") as log_file:
        run = Run(sink, log_file)
        notifiers = Notifiers(run.exchange, [run.pipe_topic, run.bare_topic], config_dir)
        paths = {"pipeline": run.pipe_topic, "bare": run.bare_topic}
        latencies: dict[str, list[float]] = {"pipeline": [], "bare": []}
        lost = {"pipeline": 0, "bare": 0}
        try:
            seq = warm_up(notifiers, sink, run.pipe_topic, "/pipeline", 0)
            seq = warm_up(notifiers, sink, run.bare_topic, "/bare", seq)
            cpu = run.cpu()
            for n in range(args.events):
                order = ["pipeline", "bare"] if n % 2 else ["bare", "pipeline"]
                for name in order:
                    time.sleep(args.gap)
                    seq += 1
                    began = time.perf_counter()
                    notifiers.publish(paths[name], seq)
                    arrived = sink.wait(f"/{name}", seq, ARRIVAL_TIMEOUT)
                    if arrived is None:
                        lost[name] += 1
                    else:
                        latencies[name].append(arrived - began)
            spent = {name: run.cpu()[name] - cpu[name] for name in cpu}
        finally:
            notifiers.close()
            run.stop()
            sink.stop()
    results: dict[str, Any] = {"commit": commit(), "events_per_path": args.events,
                               "gap_s": args.gap, "load_before": load_before}  # fmt: skip
    for name, values in latencies.items():
        results[name] = {
            "min_ms": min(values, default=0) * 1000, "p10_ms": quantile(values, 10),
            "p50_ms": quantile(values, 50), "p90_ms": quantile(values, 90),
            "p99_ms": quantile(values, 99), "max_ms": max(values, default=0) * 1000,
            "lost": lost[name], "cpu_ms_per_event": spent[name] / args.events * 1000,
        }  # fmt: skip
    results["p50_ratio"] = results["pipeline"]["p50_ms"] / results["bare"]["p50_ms"]
    results["p99_ratio"] = results["pipeline"]["p99_ms"] / results["bare"]["p99_ms"]
    results["load_after"] = os.getloadavg()
    for name in ("pipeline", "bare"):
        r = results[name]
        print(f"{name:8}  min {r['min_ms']:5.1f} ms  p10 {r['p10_ms']:5.1f} ms  "
              f"p50 {r['p50_ms']:6.1f} ms  p90 {r['p90_ms']:6.1f} ms  "
              f"p99 {r['p99_ms']:6.1f} ms  max {r['max_ms']:6.1f} ms  lost {r['lost']}  "
              f"CPU {r['cpu_ms_per_event']:.2f} ms/event")  # fmt: skip
    print(json.dumps(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    log.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
