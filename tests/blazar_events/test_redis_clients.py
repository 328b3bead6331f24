"""Every component's Redis client: bounded waits and retries, against a real redis-server."""

from __future__ import annotations

import asyncio

import pytest
import redis

from blazar_events.redis_clients import to_async_redis, to_redis
from blazar_events.settings import RedisSettings
from tests.conftest import PrivateRedis


def settings_of(server: PrivateRedis, **options: object) -> RedisSettings:
    return RedisSettings.load(url=f"redis://127.0.0.1:{server.port}/0", **options)


def pause(server: PrivateRedis, seconds: int) -> None:
    """The server stops answering everyone (a hung Redis, or one behind a dead link)."""
    redis.Redis(port=server.port).execute_command("CLIENT", "PAUSE", str(seconds * 1000), "ALL")


def test_the_policy_comes_from_the_settings(private_redis: PrivateRedis) -> None:
    client = to_redis(settings_of(private_redis, connect_timeout=3, socket_timeout=4))
    options = client.connection_pool.connection_kwargs
    assert (options["socket_connect_timeout"], options["socket_timeout"]) == (3, 4)
    assert options["health_check_interval"] == 30
    assert client.ping()


def test_a_redis_that_stops_answering_is_an_error_not_a_hang(private_redis: PrivateRedis) -> None:
    client = to_redis(settings_of(private_redis, socket_timeout=1.5, retries=0))
    assert client.ping()
    pause(private_redis, 30)
    # Without the timeout the call would wait out the pause and succeed.
    with pytest.raises(redis.TimeoutError):
        client.get("anything")


def test_the_async_client_has_the_same_bound(private_redis: PrivateRedis) -> None:
    async def scenario() -> None:
        client = to_async_redis(settings_of(private_redis, socket_timeout=1.5, retries=0))
        assert await client.ping()
        pause(private_redis, 30)
        with pytest.raises(redis.TimeoutError):
            await client.get("anything")
        await client.aclose()

    asyncio.run(scenario())


def test_a_restarted_redis_costs_no_failed_call(private_redis: PrivateRedis) -> None:
    """The pooled connection died with the server; the next call takes a new one."""
    client = to_redis(settings_of(private_redis, health_check_interval=0))
    client.set("k", "v")
    private_redis.stop()
    private_redis.start()
    assert client.set("k", "w")
    assert client.get("k") == b"w"
