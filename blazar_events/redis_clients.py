"""Redis clients: every component's, built here with one timeout and retry policy.

Before this module each component built its own client with its own timeouts (and the
operator with none, so a Redis that stopped answering hung it). Now the policy is
``[redis]``'s: a bounded connect, a bounded wait for each answer, idle connections checked
before use, and a few retries with a short capped backoff for a call that lost its connection
(a Redis restart, a failover) or timed out. The worst case of one call is about
``(retries + 1) x socket_timeout`` plus at most a second of backoff per retry, well inside
gunicorn's 30 s request timeout, so a caller gets an error (the API's 503) rather than a hang.
"""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from blazar_events.settings import RedisSettings

# First retry after up to 0.1 s, doubling, never more than 1 s: long enough for a pooled
# connection to be replaced, short enough that retries add little to the timeouts.
_BACKOFF_BASE = 0.1
_BACKOFF_CAP = 1.0
_RETRY_ON = (redis.ConnectionError, redis.TimeoutError)


def to_options(settings: RedisSettings) -> dict[str, Any]:
    """The keyword arguments both clients take (the retry object differs by flavour)."""
    return {
        "socket_connect_timeout": settings.connect_timeout,
        "socket_timeout": settings.socket_timeout,
        "health_check_interval": settings.health_check_interval,
    }


def to_redis(settings: RedisSettings) -> redis.Redis:
    """A blocking client (the store, the API, the operator, the function service)."""
    retry = Retry(
        ExponentialWithJitterBackoff(base=_BACKOFF_BASE, cap=_BACKOFF_CAP),
        settings.retries,
        supported_errors=(*_RETRY_ON, TimeoutError),  # a raw socket timeout, too
    )
    return redis.Redis.from_url(
        settings.url.get_secret_value(), retry=retry, **to_options(settings)
    )


def to_async_redis(settings: RedisSettings) -> aioredis.Redis:
    """An asyncio client (the broker's retry schedule and ordered queues)."""
    retry = AsyncRetry(
        ExponentialWithJitterBackoff(base=_BACKOFF_BASE, cap=_BACKOFF_CAP),
        settings.retries,
        supported_errors=_RETRY_ON,
    )
    return aioredis.Redis.from_url(
        settings.url.get_secret_value(), retry=retry, **to_options(settings)
    )
