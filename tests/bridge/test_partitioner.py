"""The bridge puts a lease's records where Kafka's Java client (and kafka-python) did.

librdkafka's ``murmur2_random`` partitioner replaced the bridge's own Python one: the
partitions a real bridge producer picks are checked against an independent copy of the
Java client's murmur2, itself checked against Kafka's own test values.
"""

from __future__ import annotations

import random
import struct
import uuid

from confluent_kafka import Consumer

from blazar_events.records import KafkaRecord
from blazar_events.settings import KafkaSettings
from bridge.producer import KafkaSink
from bridge.settings import BridgeSettings
from stack.kafka import create_topics, delete_topics
from tests.conftest import unique_name

PARTITIONS = 12
WAIT = 60.0  # a guard against hanging, not a performance assertion


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), unsigned."""
    m, mask = 0x5BD1E995, 0xFFFFFFFF
    h = (0x9747B28C ^ len(data)) & mask
    words = len(data) // 4
    for (k,) in struct.iter_unpack("<I", data[: words * 4]):
        k = (k * m) & mask
        k ^= k >> 24
        k = (k * m) & mask
        h = ((h * m) & mask) ^ k
    tail = data[words * 4 :]
    for index in reversed(range(len(tail))):
        h ^= tail[index] << (8 * index)
    if tail:
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h


def java_partition(key: bytes, partitions: int) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def keys() -> list[bytes]:
    rng = random.Random(7)
    fixed = [b"a", b"ab", b"abc", b"abcd", b"\xff\xfe\xfd", str(uuid.UUID(int=0)).encode()]
    leases = [str(uuid.UUID(int=rng.getrandbits(128))).encode() for _ in range(200)]
    return fixed + leases + [rng.randbytes(rng.randrange(1, 80)) for _ in range(200)]


def test_the_reference_murmur2_is_javas() -> None:
    # From Kafka's own UtilsTest: murmur2 of these strings, as signed Java ints.
    cases = {b"21": -973932308, b"foobar": -790332482, b"a-little-bit-long-string": -985981536}
    for key, java in cases.items():
        assert murmur2(key) == java & 0xFFFFFFFF


def test_the_bridge_producer_puts_each_key_on_the_java_clients_partition(
    kafka_bootstrap: str,
) -> None:
    topic = unique_name("blazar.events.partitions")
    create_topics(kafka_bootstrap, {topic: PARTITIONS})
    kafka = KafkaSettings.load(bootstrap_servers=[kafka_bootstrap])
    sink = KafkaSink(kafka, BridgeSettings.load())
    consumer = Consumer(
        {**kafka.librdkafka_config(), "group.id": unique_name("partitions"),
         "auto.offset.reset": "earliest", "enable.auto.commit": False}
    )  # fmt: skip
    try:
        wanted = keys()
        receipts = [sink.send(topic, KafkaRecord(key, b"{}", ())) for key in wanted]
        sink.flush(WAIT)
        assert all(r.done() and r.error() is None for r in receipts)
        consumer.subscribe([topic])
        seen: dict[bytes, int] = {}
        while len(seen) < len(wanted):
            message = consumer.poll(WAIT)
            assert message is not None, f"{len(seen)} of {len(wanted)} records read"
            assert message.error() is None
            key = message.key()
            assert isinstance(key, bytes)
            seen[key] = int(message.partition() or 0)
        assert {k: java_partition(k, PARTITIONS) for k in wanted} == seen
    finally:
        consumer.close()
        sink.close()
        delete_topics(kafka_bootstrap, [topic])
