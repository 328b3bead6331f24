"""The bridge producing while Kafka is away for a while: does it resume once Kafka is back?

    .venv/bin/python -u bench/soak/kafka_outage.py --down 30     # needs `blazar-events stack up`

What the soak met once when another session restarted the shared Kafka, reproduced without
touching the shared services: a private single-node Kafka (its own ports and data folder,
the stack's jars) that this script stops and starts, a ``blazar-events bridge`` process on it
and on private names of the shared RabbitMQ, and Blazar notifications at ``--rate`` through
oslo.messaging's Notifier. Every 10 s it prints how many were published, how many records
the topic holds, how many wait in the bridge's queue and the bridge's ``/readyz``.
"""

from __future__ import annotations

import argparse
import base64
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import confluent_kafka
import confluent_kafka.admin
import httpx
import kombu
from publisher import Publisher
from sinks import free_port
from workload import Leases

from stack.layout import AMQP_URL, TRANSPORT_URL, stack_dir

SETTINGS = """process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:{controller}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}
advertised.listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={data}
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
"""


def say(text: str) -> None:
    print(time.strftime("%H:%M:%S"), text, flush=True)


class PrivateKafka:
    def __init__(self, folder: Path) -> None:
        self.folder, self.port, self.controller = folder, free_port(), free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        shared = stack_dir() / "kafka"
        self.java = ["java", "-Xmx512m", "-Djava.awt.headless=true",
                     f"-Dlog4j2.configurationFile={shared / 'log4j2.properties'}",
                     "-cp", str(shared / "libs" / "*")]  # fmt: skip
        self.config = folder / "server.properties"
        self.config.write_text(SETTINGS.format(port=self.port, controller=self.controller,
                                               data=folder / "data"))  # fmt: skip
        cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        subprocess.run([*self.java, "kafka.tools.StorageTool", "format", "--standalone",
                        "-t", cluster, "-c", str(self.config)], check=True,
                       capture_output=True)  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.folder / "kafka.log").open("ab") as log:
            self.process = subprocess.Popen([*self.java, "kafka.Kafka", str(self.config)],
                                            stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)  # fmt: skip
        admin = confluent_kafka.admin.AdminClient({"bootstrap.servers": self.bootstrap,
                                                   "log_level": 0})  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if admin.list_topics(timeout=2).brokers:
                    return
            except confluent_kafka.KafkaException:
                pass
            time.sleep(0.5)
        raise SystemExit(f"the private Kafka did not start; see {self.folder / 'kafka.log'}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(60)

    def records(self, topic: str, partitions: int) -> int | str:
        probe = confluent_kafka.Consumer({"bootstrap.servers": self.bootstrap,
                                          "group.id": "probe", "log_level": 0})  # fmt: skip
        try:
            tps = [confluent_kafka.TopicPartition(topic, n) for n in range(partitions)]
            return sum(probe.get_watermark_offsets(tp, timeout=5)[1] for tp in tps)
        except confluent_kafka.KafkaException as exc:
            return f"? ({exc})"
        finally:
            probe.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--down", type=float, default=30.0, help="seconds Kafka stays stopped")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--before", type=float, default=20.0, help="seconds before the stop")
    parser.add_argument("--after", type=float, default=120.0, help="seconds watched after")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="blazar-events-kafka-outage-"))
    tag = f"outage-{uuid.uuid4().hex[:8]}"
    topic, health_port = f"blazar.events.{tag}", free_port()
    kafka = PrivateKafka(folder)
    kafka.start()
    admin = confluent_kafka.admin.AdminClient({"bootstrap.servers": kafka.bootstrap})
    admin.create_topics([confluent_kafka.admin.NewTopic(topic, 6, 1)])[topic].result()
    env = {**os.environ, "BLAZAR_EVENTS_CONFIG_FILE": os.devnull,
           "BLAZAR_EVENTS_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
           "BLAZAR_EVENTS_KAFKA_TOPIC": topic,
           "BLAZAR_EVENTS_KAFKA_REJECTED_TOPIC": topic + ".rejected",
           "BLAZAR_EVENTS_BRIDGE_TRANSPORT_URL": TRANSPORT_URL,
           "BLAZAR_EVENTS_BRIDGE_EXCHANGE": f"openstack-{tag}",
           "BLAZAR_EVENTS_BRIDGE_EXCHANGE_DURABLE": "true",
           "BLAZAR_EVENTS_BRIDGE_POOL": tag, "BLAZAR_EVENTS_BRIDGE_TOPICS": f"notifications-{tag}",
           "BLAZAR_EVENTS_BRIDGE_PORT": str(health_port),
           "BLAZAR_EVENTS_BRIDGE_LOG_FORMAT": "text"}  # fmt: skip
    with (folder / "bridge.log").open("ab") as log:
        bridge = subprocess.Popen([sys.executable, "-m", "blazar_events.cli", "bridge"], env=env,
                                  stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)  # fmt: skip
    readyz = f"http://127.0.0.1:{health_port}/readyz"

    def status() -> None:
        try:
            answer = httpx.get(readyz, timeout=3)
            ready = f"{answer.status_code} {answer.text.strip()[:80]}"
        except httpx.HTTPError as exc:
            ready = type(exc).__name__
        try:
            with kombu.Connection(AMQP_URL) as conn:
                waiting: int | str = conn.channel().queue_declare(tag, passive=True).message_count
        except Exception as exc:
            waiting = type(exc).__name__
        say(f"published {len(publisher.result.notes):,}, topic {kafka.records(topic, 6)}, "
            f"bridge queue {waiting}, bridge /readyz {ready}")  # fmt: skip

    publisher = Publisher(TRANSPORT_URL, f"openstack-{tag}", f"notifications-{tag}",
                          folder / "blazar", tag)  # fmt: skip
    stop = threading.Event()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(readyz, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        say(f"bridge ready; logs in {folder}")
        count = int(args.rate * (args.before + args.down + args.after + 60))
        leases = Leases(1, 25)
        thread = threading.Thread(target=publisher.publish, args=(leases, count, args.rate, stop))
        thread.start()
        time.sleep(args.before)
        status()
        say("stopping Kafka")
        kafka.stop()
        time.sleep(args.down)
        kafka.start()
        say(f"Kafka answers again ({args.down:g} s stopped, plus its stop and start)")
        watched = time.monotonic() + args.after
        while time.monotonic() < watched:
            time.sleep(10)
            status()
        stop.set()
        thread.join()
        return 0
    finally:
        stop.set()
        os.killpg(bridge.pid, signal.SIGTERM)
        bridge.wait(30)
        publisher.close()
        kafka.stop()
        with kombu.Connection(AMQP_URL) as conn:
            channel = conn.channel()
            for queue in (tag, f"notifications-{tag}.info"):
                channel.queue_delete(queue)
            channel.exchange_delete(f"openstack-{tag}")


if __name__ == "__main__":
    sys.exit(main())
