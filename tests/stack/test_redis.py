"""The stack's Redis: what is written survives a restart (append-only file)."""

from __future__ import annotations

import redis

from tests.conftest import StackControl


def test_redis_keeps_its_data_across_a_restart(
    redis_url: str, redis_prefix: str, stack: StackControl
) -> None:
    client = redis.Redis.from_url(redis_url)
    client.set(f"{redis_prefix}:kept", "yes")
    stack.restart("redis")
    client = redis.Redis.from_url(redis_url)
    assert client.get(f"{redis_prefix}:kept") == b"yes"
