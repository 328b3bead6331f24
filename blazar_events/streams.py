"""The stream-shaped parts of the store: the change feed, delivery logs, broker requests.

:class:`blazar_events.store.SubscriptionStore` inherits them; they live here so each module stays
about one concern. Keys under ``<prefix>``: ``changes`` (Stream of ``op``/``id``/``version``),
``deliveries:<id>`` (bounded list, newest first), ``replays`` (Stream of replay/test requests).
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, ParamSpec, TypeVar

import redis

from blazar_events.errors import ServiceUnavailable
from blazar_events.keys import Keys

P = ParamSpec("P")
R = TypeVar("R")
Op = Literal["created", "updated", "deleted", "secret"]

_UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)


def unavailable_on_outage(method: Callable[P, R]) -> Callable[P, R]:
    """Turn 'Redis is unreachable' into ServiceUnavailable (a 503), never a traceback."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except _UNAVAILABLE as exc:
            raise ServiceUnavailable(
                f"the subscription store (Redis) is unavailable: {type(exc).__name__}"
            ) from exc
        except redis.ResponseError as exc:
            if str(exc).startswith(("LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN")):
                raise ServiceUnavailable(f"the subscription store is not ready: {exc}") from exc
            raise

    return wrapper


# KEYS: the requests stream, the brokers' cursor in it. ARGV: the most requests that may
# wait, then field/value pairs. Trims what the brokers have passed (MINID keeps the cursor's
# own entry and later ones), then adds the request unless the stream is full: false.
_QUEUE_REQUEST = """
local cursor = redis.call('GET', KEYS[2])
if cursor and cursor ~= '0-0' then redis.call('XTRIM', KEYS[1], 'MINID', cursor) end
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return false end
return redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
"""


class Streams:
    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        *,
        delivery_log_size: int = 100,
        change_feed_size: int = 100_000,
        max_pending_requests: int = 10_000,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.keys = Keys(prefix)
        self.delivery_log_size = delivery_log_size
        self.change_feed_size = change_feed_size
        self.changes_key = self.keys.changes
        self.replays_key = self.keys.replays
        # Where the brokers' RequestFollower has got to in ``replays`` (it writes the key).
        self.requests_cursor_key = self.keys.requests_cursor
        self.max_pending_requests = max_pending_requests
        self._request_script = client.register_script(_QUEUE_REQUEST)

    def _log_key(self, sub_id: str) -> str:
        return self.keys.deliveries(sub_id)

    def _record_change(self, pipe: Any, op: Op, sub_id: str, version: int) -> None:
        pipe.xadd(
            self.changes_key,
            {"op": op, "id": sub_id, "version": str(version)},
            maxlen=self.change_feed_size,
            approximate=True,
        )

    # --- change feed --------------------------------------------------------------------------

    @unavailable_on_outage
    def last_change_id(self) -> str:
        """Where to start following after a snapshot taken with :meth:`all` (read this first)."""
        newest = self.client.xrevrange(self.changes_key, count=1)
        return str(text(newest[0][0])) if newest else "0-0"  # type: ignore[index]

    @unavailable_on_outage
    def changes(
        self, last_id: str = "$", block_ms: int | None = None, count: int = 500
    ) -> list[tuple[str, str, str]]:
        """``(stream_id, op, subscription_id)`` after ``last_id``; blocks up to ``block_ms``."""
        answer = self.client.xread({self.changes_key: last_id}, count=count, block=block_ms)
        result: list[tuple[str, str, str]] = []
        for _stream, entries in answer or []:  # type: ignore[union-attr]
            for stream_id, fields in entries:
                values = {text(k): text(v) for k, v in fields.items()}
                result.append((text(stream_id), values.get("op", ""), values.get("id", "")))
        return result

    # --- delivery log and requests to the broker ----------------------------------------------

    @unavailable_on_outage
    def append_delivery(self, sub_id: str, attempt: dict[str, Any]) -> None:
        """Record one delivery attempt; only the newest ``delivery_log_size`` are kept."""
        with self.client.pipeline(transaction=True) as pipe:
            self.queue_delivery(pipe, sub_id, attempt)
            pipe.execute()

    def queue_delivery(self, pipe: Any, sub_id: str, attempt: dict[str, Any]) -> None:
        """:meth:`append_delivery`'s writes, queued on the caller's pipeline (its round trip)."""
        key = self._log_key(sub_id)
        pipe.lpush(key, json.dumps(attempt, default=str, sort_keys=True))
        pipe.ltrim(key, 0, self.delivery_log_size - 1)

    @unavailable_on_outage
    def append_deliveries(self, attempts: dict[str, list[dict[str, Any]]]) -> None:
        """Record many attempts (oldest first per subscription) in one round trip."""
        with self.client.pipeline(transaction=False) as pipe:
            for sub_id, entries in attempts.items():
                key = self._log_key(sub_id)
                pipe.lpush(key, *(json.dumps(e, default=str, sort_keys=True) for e in entries))
                pipe.ltrim(key, 0, self.delivery_log_size - 1)
            pipe.execute()

    @unavailable_on_outage
    def deliveries(self, sub_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """The newest attempts first."""
        raws = self.client.lrange(self._log_key(sub_id), 0, max(limit, 1) - 1)
        return [json.loads(raw) for raw in raws]  # type: ignore[union-attr]

    def _request(self, fields: dict[str, str]) -> str:
        """Queue a request for a broker, or refuse (503) when ``max_pending_requests`` wait.

        Only entries the brokers have passed (their cursor) are ever trimmed: a request
        answered 202 stays until a broker took it, whatever other tenants ask meanwhile.
        """
        request_id = str(uuid.uuid4())
        args: list[str] = [str(self.max_pending_requests)]
        for name, value in {**fields, "request_id": request_id}.items():
            args.extend((name, value))
        queued = self._request_script(keys=[self.replays_key, self.requests_cursor_key], args=args)
        if not queued:
            raise ServiceUnavailable(
                f"{self.max_pending_requests} replay and test requests are already waiting "
                "for a broker; retry later"
            )
        return request_id

    @unavailable_on_outage
    def request_replay(self, sub_id: str, since: datetime, until: datetime | None = None) -> str:
        """Ask the broker to re-deliver this subscription's events in [since, until)."""
        fields = {"kind": "replay", "subscription_id": sub_id, "since": since.isoformat()}
        if until is not None:
            fields["until"] = until.isoformat()
        return self._request(fields)

    @unavailable_on_outage
    def request_test(self, sub_id: str) -> str:
        """Ask the broker to send a synthetic ``subscription.test`` event to this subscription."""
        return self._request({"kind": "test", "subscription_id": sub_id})

    @unavailable_on_outage
    def request_snapshot(self, sub_id: str) -> str:
        """Ask for one ``lease.snapshot`` event per live lease this subscription sees."""
        return self._request({"kind": "snapshot", "subscription_id": sub_id})

    @unavailable_on_outage
    def requests(
        self, last_id: str = "0-0", block_ms: int | None = None, count: int = 100
    ) -> list[tuple[str, dict[str, str]]]:
        """Replay/test requests after ``last_id``: ``(stream_id, fields)``."""
        answer = self.client.xread({self.replays_key: last_id}, count=count, block=block_ms)
        return [
            (text(stream_id), {text(k): text(v) for k, v in fields.items()})
            for _stream, entries in answer or []  # type: ignore[union-attr]
            for stream_id, fields in entries
        ]


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
