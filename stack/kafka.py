"""Apache Kafka, single-node KRaft (broker and controller), from the jars on Maven Central.

The published kafka_2.13 POM brings the broker and its dependencies but no logging backend;
the generated POM adds log4j's SLF4J 1.x binding (Kafka 4 logs through SLF4J 1.7 and ships
log4j 2 itself). Maven resolves them once into ``.stack/kafka/libs``.
"""

from __future__ import annotations

import base64
import sys
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from blazar_events.settings import KafkaSettings
from stack.errors import StackError
from stack.layout import HOST, KAFKA_BOOTSTRAP, KAFKA_CONTROLLER_PORT, KAFKA_PORT
from stack.process import port_open, run_step
from stack.service import Service

KAFKA_VERSION = "4.1.1"
LOG4J_VERSION = "2.24.3"
HEAP = "-Xmx512m"
MAIN_CLASS = "kafka.Kafka"
# The product's topics: events (keyed by lease id, so partitions keep one lease in order),
# bus messages that could not be translated, and deliveries that failed for good.
TOPICS = {
    "blazar.events": 6,
    "blazar.events.rejected": 1,
    "blazar.events.dlq": 1,
    "blazar.leases": 6,
}
# The lease state topic keeps only each lease's newest record (a tombstone removes it):
# compaction, not retention, bounds it, so a lease started months ago is still there.
TOPIC_CONFIGS = {"blazar.leases": {"cleanup.policy": "compact"}}

POM = f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.blazar-events</groupId>
  <artifactId>kafka-stack</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>{KAFKA_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>{LOG4J_VERSION}</version>
    </dependency>
  </dependencies>
</project>
"""

LOG4J2 = """status = warn
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.console.ref = console
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
"""


class Kafka(Service):
    name = "kafka"
    ports = (KAFKA_PORT, KAFKA_CONTROLLER_PORT)
    marker = MAIN_CLASS
    start_timeout = 120.0
    apt_packages = {"java": "openjdk-17-jre-headless", "mvn": "maven"}

    def address(self) -> str:
        return KAFKA_BOOTSTRAP

    def details(self) -> str:
        return f"Kafka {KAFKA_VERSION} KRaft, controller {HOST}:{KAFKA_CONTROLLER_PORT}, " + (
            f"data {self.directory}"
        )

    def install(self) -> None:
        libs = self.directory / "libs"
        done = libs / f".complete-{KAFKA_VERSION}"
        if done.is_file():
            return
        print(f"stack: fetching Kafka {KAFKA_VERSION} jars with Maven", file=sys.stderr, flush=True)
        (self.directory / "pom.xml").write_text(POM)
        run_step(
            "Maven (resolving the Kafka jars)",
            [
                "mvn",
                "-B",
                "-q",
                "-f",
                str(self.directory / "pom.xml"),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={libs}",
                "-DincludeScope=runtime",
            ],
            self.directory / "install.log",
            timeout=900.0,
        )
        done.write_text("")

    def prepare(self) -> None:
        data = self.directory / "data"
        (self.directory / "log4j2.properties").write_text(LOG4J2)
        (self.directory / "server.properties").write_text(
            "process.roles=broker,controller\n"
            "node.id=1\n"
            f"controller.quorum.bootstrap.servers={HOST}:{KAFKA_CONTROLLER_PORT}\n"
            f"listeners=PLAINTEXT://{HOST}:{KAFKA_PORT},CONTROLLER://{HOST}:{KAFKA_CONTROLLER_PORT}\n"
            f"advertised.listeners=PLAINTEXT://{HOST}:{KAFKA_PORT},"
            f"CONTROLLER://{HOST}:{KAFKA_CONTROLLER_PORT}\n"
            "controller.listener.names=CONTROLLER\n"
            "inter.broker.listener.name=PLAINTEXT\n"
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n"
            f"log.dirs={data}\n"
            "num.partitions=1\n"
            "default.replication.factor=1\n"
            "min.insync.replicas=1\n"
            "offsets.topic.replication.factor=1\n"
            "offsets.topic.num.partitions=10\n"
            "transaction.state.log.replication.factor=1\n"
            "transaction.state.log.min.isr=1\n"
            "share.coordinator.state.topic.replication.factor=1\n"
            "share.coordinator.state.topic.min.isr=1\n"
            "auto.create.topics.enable=true\n"
            "delete.topic.enable=true\n"
            # Tests create many short-lived consumer groups: no 3 s wait before each join.
            "group.initial.rebalance.delay.ms=0\n"
            "log.retention.hours=24\n"
        )
        if (data / "meta.properties").is_file():
            return
        cluster_file = self.directory / "cluster.id"
        if not cluster_file.is_file():
            raw = uuid.uuid4().bytes
            cluster_file.write_text(base64.urlsafe_b64encode(raw).decode().rstrip("="))
        run_step(
            "formatting the Kafka storage",
            [
                *self._java(),
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "--ignore-formatted",
                "-t",
                cluster_file.read_text().strip(),
                "-c",
                str(self.directory / "server.properties"),
            ],
            self.directory / "install.log",
            timeout=120.0,
        )

    def _java(self) -> list[str]:
        return [
            "java",
            HEAP,
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.directory / 'log4j2.properties'}",
            "-cp",
            str(self.directory / "libs" / "*"),
        ]

    def command(self) -> tuple[list[str], dict[str, str]]:
        return [*self._java(), MAIN_CLASS, str(self.directory / "server.properties")], {}

    def probe(self) -> None:
        if not port_open(KAFKA_PORT):  # fail fast: the client alone would wait per try
            raise ConnectionError(f"nothing listens on {KAFKA_BOOTSTRAP} yet")
        try:
            brokers = admin_client(KAFKA_BOOTSTRAP).list_topics(timeout=5).brokers
        except KafkaException as exc:
            raise ConnectionError(f"no cluster metadata yet: {exc}") from None
        if not brokers:
            raise ConnectionError("no broker in the cluster metadata yet")

    def after_start(self) -> None:
        try:
            create_topics(KAFKA_BOOTSTRAP, TOPICS, TOPIC_CONFIGS)
        except Exception as exc:
            raise StackError(f"kafka: cannot create the product topics: {exc}") from exc


# Topic administration through librdkafka's admin API, for the stack, the tests and the
# benches (the product's components create no topics).
ADMIN_TIMEOUT = 30.0


def admin_client(bootstrap: str) -> AdminClient:
    config = KafkaSettings.load(bootstrap_servers=[bootstrap]).librdkafka_config()
    return AdminClient({**config, "client.id": "blazar-events-stack", "socket.timeout.ms": 5000})


def list_topics(bootstrap: str) -> dict[str, int]:
    """Every topic and its number of partitions."""
    metadata = admin_client(bootstrap).list_topics(timeout=ADMIN_TIMEOUT)
    return {name: len(topic.partitions) for name, topic in metadata.topics.items()}


def create_topics(
    bootstrap: str,
    partitions: Mapping[str, int],
    configs: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    """Create the topics that do not exist yet (another process may create them too)."""
    configs = configs or {}
    admin = admin_client(bootstrap)
    existing = set(admin.list_topics(timeout=ADMIN_TIMEOUT).topics)
    wanted = [
        NewTopic(name, count, 1, config=dict(configs.get(name, {})))
        for name, count in partitions.items()
        if name not in existing
    ]
    if not wanted:
        return
    _settle(admin.create_topics(wanted, operation_timeout=ADMIN_TIMEOUT),
            KafkaError.TOPIC_ALREADY_EXISTS)  # fmt: skip


def delete_topics(bootstrap: str, names: Iterable[str]) -> None:
    """Delete those of ``names`` that exist."""
    admin = admin_client(bootstrap)
    existing = set(admin.list_topics(timeout=ADMIN_TIMEOUT).topics)
    doomed = [name for name in names if name in existing]
    if not doomed:
        return
    _settle(admin.delete_topics(doomed, operation_timeout=ADMIN_TIMEOUT),
            KafkaError.UNKNOWN_TOPIC_OR_PART)  # fmt: skip


def _settle(futures: dict[str, Any], done_already: int) -> None:
    """Wait for each topic's answer; ``done_already`` (another caller was first) is success."""
    for future in futures.values():
        try:
            future.result(timeout=ADMIN_TIMEOUT)
        except KafkaException as exc:
            if _code(exc) != done_already:
                raise


def _code(exc: KafkaException) -> int | None:
    inner = exc.args[0] if exc.args else None
    return int(inner.code()) if isinstance(inner, KafkaError) else None
