"""Which records a partition's previous owner had already settled beyond its Kafka commit.

Kafka's committed offset says only "everything below is done". A broker commits up to the
first record still in progress, every ``commit_interval``; records settled after a slower
one (another subscriber's), or since the last commit, are done but not committed. When the
process is SIGKILLed its partitions' next owner reads them again and delivers them again.

So each broker also writes, per partition it owns, its :class:`Progress` to Redis every
``progress_interval`` (one key per partition, rewritten only when it changed: no Redis
round trip per delivery). The next owner reads the key once, when it is assigned the
partition, and skips the records the previous owner had settled, and of a record still open
the deliveries that had settled (to whichever subscriptions it names); from the recorded ``next``
offset on it routes without looking (until then a lookup in a small dict per record).

At-least-once is kept because a record is written as settled only after every delivery it
caused reached a durable end (delivered, in the retry schedule, dead-lettered), and that
stays true: a write that lands late, or progress two owners old, never claims something that
was not done. What the previous owner settled after its last write is delivered again.

It is trusted only while it describes the partition the new owner reads: the committed
offset must exist (a deleted and recreated topic has none) and lie within the recorded range.
Bounded: one key per partition, expiring ``TTL`` after its last write; at most ``MAX_OPEN``
open offsets per key and ``MAX_DONE`` subscriptions named as done in them (beyond, the claim
stops short: less is skipped, nothing wrongly).
Redis unreachable: nothing is written or read for a while, and more is redelivered.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any, Literal

import redis

from blazar_events.keys import Keys
from broker.offsets import Key, Progress

log = logging.getLogger(__name__)

TTL = 3600  # seconds a partition's progress outlives its owner's last write
REFRESH = TTL / 4  # an unchanged partition's key is rewritten this often
MAX_OPEN = 4000
MAX_DONE = 20_000  # subscription ids listed as done in open records, per partition
NONE: frozenset[str] = frozenset()
BACKOFF = 5.0  # seconds without Redis calls after one failed


def to_json(progress: Progress) -> str:
    """``[first, settled, next, still_open, [], groups]``: the open records whose settled
    deliveries are the same subscriptions are one group ``[names, offsets]``. Beside a hung
    subscriber every open record has the same others settled, and this is one group, not
    the names again for each record (that cost ~3 ms a write per 1,000 open records, ten
    writes a second). The empty fifth field makes an older reader ignore it, not misread it."""
    still_open = progress.still_open
    ends = progress.next
    if len(still_open) > MAX_OPEN:
        # Claim less: nothing from the first offset not listed on.
        ends, still_open = still_open[MAX_OPEN], still_open[:MAX_OPEN]
    grouped: dict[frozenset[str], list[int]] = {}
    for offset in still_open:
        subscriptions = progress.done.get(offset)
        if subscriptions:
            grouped.setdefault(frozenset(subscriptions), []).append(offset)
    groups, listed = [], 0
    for names, offsets in grouped.items():
        if listed + len(names) + len(offsets) <= MAX_DONE:  # beyond: those are not skipped
            groups.append([sorted(names), offsets])
            listed += len(names) + len(offsets)
    return json.dumps(
        [progress.first, progress.settled, ends, still_open, [], groups], separators=(",", ":")
    )


def _names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(name, str) for name in value)


def _offsets(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(n, int) for n in value)


def from_json(raw: bytes | str) -> Progress:
    """What :func:`to_json` wrote; also the older form, whose fifth field listed each open
    record's settled subscriptions ``[offset, names]`` (and had no sixth)."""
    decoded = json.loads(raw)
    if not isinstance(decoded, list) or len(decoded) not in (5, 6):
        raise ValueError("not a partition's progress")
    first, settled, ends, still_open, listed, *rest = decoded
    if not (
        all(isinstance(n, int) for n in (first, settled, ends))
        and _offsets(still_open)
        and first <= settled <= ends
        and isinstance(listed, list)
        and all(
            isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], int)
            and _names(pair[1])
            for pair in listed
        )
    ):  # fmt: skip
        raise ValueError("not a partition's progress")
    done = {offset: names for offset, names in listed}
    for group in rest[0] if rest else []:
        if not (isinstance(group, list) and len(group) == 2 and _names(group[0])
                and _offsets(group[1])):  # fmt: skip
            raise ValueError("not a partition's progress")
        done.update(dict.fromkeys(group[1], group[0]))
    return Progress(first, settled, ends, still_open, done)


def with_short_timeouts(client: Any) -> redis.Redis:
    """A client to the same Redis that gives up within a second: it is called from the
    Kafka consumer's thread, which must not stall on an unreachable Redis."""
    pool = client.connection_pool
    kwargs = {**pool.connection_kwargs, "socket_timeout": 1.0, "socket_connect_timeout": 1.0}
    return redis.Redis(connection_pool=redis.ConnectionPool(
        connection_class=pool.connection_class, max_connections=4, **kwargs
    ))  # fmt: skip


class _Inherited:
    """A previous owner's progress, as the new owner consults it."""

    __slots__ = ("done", "ends", "settled", "still_open")

    def __init__(self, progress: Progress) -> None:
        self.settled = progress.settled
        self.ends = progress.next
        self.still_open = frozenset(progress.still_open)
        shared: dict[int, frozenset[str]] = {}  # one set per group of records, not per record
        self.done = {
            offset: shared.setdefault(id(names), frozenset(names))
            for offset, names in progress.done.items()
        }


class Ledger:
    """Written and loaded in the consumer thread; consulted on the event loop."""

    def __init__(self, client: Any, prefix: str, group: str, interval: float) -> None:
        self.client = client
        self.keys, self.group = Keys(prefix), group
        self.interval = interval
        self.skipped = 0  # records not routed again: their previous owner had settled them
        self._inherited: dict[Key, _Inherited] = {}
        self._written: dict[Key, tuple[int, int, int, int, float]] = {}
        self._last_write = 0.0
        self._quiet_until = 0.0
        self._lock = threading.Lock()

    def key(self, partition: Key) -> str:
        return self.keys.ledger(self.group, partition[0], partition[1])

    # --- the owner --------------------------------------------------------------------------

    def due(self, now: float) -> bool:
        return now - self._last_write >= self.interval and now >= self._quiet_until

    def write(self, progress: dict[Key, Progress], now: float, force: bool = False) -> None:
        """Write what changed since the last write (everything given, with ``force``)."""
        self._last_write = now
        if now < self._quiet_until and not force:
            return
        changed: dict[Key, tuple[Progress, tuple[int, int, int, int, float]]] = {}
        for key, state in progress.items():
            seen = self._written.get(key)
            made = sum(len(names) for names in state.done.values())  # deliveries of open ones
            mark = (state.settled, state.next, len(state.still_open), made, now)
            if force or seen is None or seen[:4] != mark[:4] or now - seen[4] > REFRESH:
                changed[key] = (state, mark)
        if not changed:
            return
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for key, (state, _) in changed.items():
                    pipe.set(self.key(key), to_json(state), ex=TTL)
                pipe.execute()
        except Exception as exc:  # Redis away: more is redelivered if we die meanwhile
            self._quiet_until = now + BACKOFF
            log.warning("partition progress not written: %s: %s", type(exc).__name__, exc)
            return
        for key, (_, mark) in changed.items():
            self._written[key] = mark

    def forget(self, keys: list[Key]) -> None:
        """Partitions given up: neither written nor consulted any more."""
        with self._lock:
            for key in keys:
                self._written.pop(key, None)
                self._inherited.pop(key, None)

    # --- the next owner ----------------------------------------------------------------------

    def load(self, committed: dict[Key, int | None]) -> None:
        """Newly assigned partitions and their committed offsets: take over what their
        previous owners recorded, where it describes what this member will read."""
        keys = [key for key, offset in committed.items() if offset is not None]
        if not keys:
            return
        try:
            raws = self.client.mget([self.key(key) for key in keys])
        except Exception as exc:
            log.warning("partition progress not read: %s: %s", type(exc).__name__, exc)
            return
        for key, raw in zip(keys, raws, strict=True):
            if raw is None:
                continue
            try:
                progress = from_json(raw)
            except (ValueError, TypeError) as exc:
                log.warning("progress of partition %s unusable: %s", key, exc)
                continue
            offset = committed[key]
            assert offset is not None
            if progress.first <= offset < progress.next:
                with self._lock:
                    self._inherited[key] = _Inherited(progress)
                log.info("partition %s: records up to offset %d settled by its previous "
                         "owner are skipped", key, progress.next - 1)  # fmt: skip

    def done(self, topic: str, partition: int, offset: int) -> Literal[True] | frozenset[str]:
        """What a previous owner had settled of this record: all of it (True, then it is
        not routed again), or the subscriptions whose delivery it had settled (maybe none)."""
        if not self._inherited:
            return NONE
        key = (topic, partition)
        inherited = self._inherited.get(key)
        if inherited is None:
            return NONE
        if offset >= inherited.ends:
            with self._lock:
                if self._inherited.get(key) is inherited:
                    del self._inherited[key]  # past it: no more lookups for this partition
            return NONE
        if offset < inherited.settled or offset not in inherited.still_open:
            self.skipped += 1
            return True
        return inherited.done.get(offset, NONE)
