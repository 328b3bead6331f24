"""The bridge's partitioner puts a lease where Kafka's own partitioner would."""

from __future__ import annotations

import random
import uuid

import pytest
from kafka.partitioner.default import murmur2 as kafka_murmur2

from bridge.partitioner import lease_partitioner, murmur2, partition_of


def keys() -> list[bytes]:
    rng = random.Random(7)
    fixed = [b"", b"a", b"ab", b"abc", b"abcd", b"\xff\xfe\xfd", str(uuid.UUID(int=0)).encode()]
    return fixed + [rng.randbytes(rng.randrange(0, 80)) for _ in range(500)]


@pytest.mark.parametrize("key", keys())
def test_murmur2_is_kafkas(key: bytes) -> None:
    assert murmur2(key) == kafka_murmur2(key)


def test_known_java_values() -> None:
    # From Kafka's own UtilsTest: murmur2 of these strings, as signed Java ints.
    cases = {b"21": -973932308, b"foobar": -790332482, b"a-little-bit-long-string": -985981536}
    for key, java in cases.items():
        assert murmur2(key) == java & 0xFFFFFFFF


class Cluster:
    def partitions_for_topic(self, topic: str) -> set[int]:
        return set(range(12))

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return {3}


def test_the_partitioner_hashes_keys_and_spreads_keyless_records() -> None:
    partitioner = lease_partitioner()
    assert partitioner is not None
    lease = b"9a7b0f2e-3c41-4f8e-9d55-1c2b3a4d5e6f"
    chosen = partitioner.partition("t", lease, lease, None, None, Cluster())
    assert chosen == partition_of(lease, 12) == (kafka_murmur2(lease) & 0x7FFFFFFF) % 12
    assert partitioner.partition("t", None, None, None, None, Cluster()) == 3
