"""The partition ledger: a new owner skips only what a previous owner durably settled."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.ledger import MAX_OPEN, Ledger, from_json, to_json, with_short_timeouts
from broker.offsets import OffsetTracker

TOPIC = "blazar.events"


@st.composite
def histories(draw: st.DrawFn) -> tuple[int, list[tuple[int, int]], set[int]]:
    """A generation starting at some committed offset: records read in order, each with
    0-3 deliveries, and which of those records have since settled every delivery."""
    first = draw(st.integers(0, 10**6))
    deliveries = draw(st.lists(st.integers(0, 3), min_size=1, max_size=60))
    records = [(first + n, count) for n, count in enumerate(deliveries)]
    settled = draw(st.sets(st.sampled_from([o for o, _ in records])))
    return first, records, settled


def replayed(history: tuple[int, list[tuple[int, int]], set[int]]) -> OffsetTracker:
    _, records, settled = history
    tracker = OffsetTracker()
    for offset, count in records:
        slot = tracker.start(TOPIC, 0, offset, count)
        if slot is None:
            continue
        # a settled record: every delivery finished; another: all but one, maybe
        for n in range(count if offset in settled else (offset % count)):
            tracker.finish(slot, f"sub-{n}")
    return tracker


class FakeRedis:
    """Pure logic only: a dict standing in for MGET/SET (the real one is used below)."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self.writes = 0

    def mget(self, keys: list[str]) -> list[str | None]:
        return [self.data.get(key) for key in keys]

    def pipeline(self, transaction: bool = False) -> FakePipeline:
        return FakePipeline(self)


class FakePipeline:
    def __init__(self, client: FakeRedis) -> None:
        self.client, self.writes = client, 0

    def __enter__(self) -> FakePipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def set(self, key: str, value: str, ex: int) -> None:
        self.client.data[key] = value
        self.client.writes += 1

    def execute(self) -> None:
        pass


@settings(max_examples=300, deadline=None)
@given(histories(), st.data())
def test_a_new_owner_skips_only_records_whose_deliveries_all_settled(
    history: tuple[int, list[tuple[int, int]], set[int]], data: st.DataObject
) -> None:
    first, records, settled = history
    progress = replayed(history).progress()[(TOPIC, 0)]
    client = FakeRedis()
    ledger = Ledger(client, "p", "g", 0.1)
    client.data[ledger.key((TOPIC, 0))] = to_json(progress)
    # The committed offset the new owner starts from: anything the old one could have
    # committed, i.e. at most its first record still open.
    committed = data.draw(st.integers(first, progress.settled))
    ledger.load({(TOPIC, 0): committed})

    done = {o for o, count in records if count == 0 or o in settled}
    for offset, count in records:
        if offset < committed:
            continue
        claim = ledger.done(TOPIC, 0, offset)
        if claim is True:
            assert offset in done, offset
        else:  # at most the deliveries that did settle, never all of them
            assert len(claim) < count or offset in done, offset
    # A record past what the old owner read is never skipped.
    assert not ledger.done(TOPIC, 0, records[-1][0] + 1)


def test_progress_with_too_many_open_records_claims_less_never_more() -> None:
    tracker = OffsetTracker()
    slots = [tracker.start(TOPIC, 0, offset, 1) for offset in range(MAX_OPEN + 50)]
    tracker.start(TOPIC, 0, MAX_OPEN + 50, 0)  # done at once, past the open ones
    assert slots[0] is not None
    tracker.finish(slots[0])
    decoded = from_json(to_json(tracker.progress()[(TOPIC, 0)]))
    assert decoded.done == {}
    assert len(decoded.still_open) == MAX_OPEN
    assert decoded.next == MAX_OPEN + 1  # the first open offset not listed: claimed no more


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"null",
        b"[1,2]",
        b'["a",1,2,[],[]]',
        b"[5,3,9,[],[]]",
        b"[1,2,3,{},[]]",
        b"[1,2,3,[1.5],[]]",
        b"[1,2,3,[2],[[2,[5]]]]",
        b"[1,2,3,[2],[[2]]]",
        b'[1,2,3,[2],[],[[["s"]]]]',
        b'[1,2,3,[2],[],[[["s"],[2.5]]]]',
        b"[1,2,3,[2],[],[[[7],[2]]]]",
        b"[1,2,3,[2],[],[],[]]",
    ],
)
def test_a_garbled_ledger_entry_is_ignored(raw: bytes) -> None:
    client = FakeRedis()
    ledger = Ledger(client, "p", "g", 0.1)
    client.data[ledger.key((TOPIC, 0))] = raw.decode()
    ledger.load({(TOPIC, 0): 0})
    assert not ledger.done(TOPIC, 0, 0)


def test_no_committed_offset_means_no_skipping() -> None:
    """A topic deleted and created again has no committed offsets: an old entry for the
    same name describes other records."""
    client = FakeRedis()
    ledger = Ledger(client, "p", "g", 0.1)
    tracker = OffsetTracker()
    tracker.start(TOPIC, 0, 0, 0)
    client.data[ledger.key((TOPIC, 0))] = to_json(tracker.progress()[(TOPIC, 0)])
    ledger.load({(TOPIC, 0): None})
    assert not ledger.done(TOPIC, 0, 0)


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    real = with_short_timeouts(redis.Redis.from_url(redis_url))
    yield real
    real.close()


def test_progress_goes_through_real_redis_and_expires(
    client: redis.Redis, redis_prefix: str
) -> None:
    tracker = OffsetTracker()
    held = tracker.start(TOPIC, 3, 100, 2)
    assert held is not None
    tracker.finish(held, "sub-a")
    for offset in range(101, 110):
        tracker.start(TOPIC, 3, offset, 0)
    owner = Ledger(client, redis_prefix, "g", 0.1)
    owner.write(tracker.progress(), 1.0)
    assert 0 < client.ttl(owner.key((TOPIC, 3))) <= 3600

    heir = Ledger(client, redis_prefix, "g", 0.1)
    heir.load({(TOPIC, 3): 100})
    assert heir.done(TOPIC, 3, 100) == {"sub-a"}  # one of its two deliveries was made
    assert all(heir.done(TOPIC, 3, offset) is True for offset in range(101, 110))
    assert not heir.done(TOPIC, 3, 110)
    assert heir.skipped == 9


def test_an_unreachable_redis_costs_redeliveries_not_errors() -> None:
    down = with_short_timeouts(redis.Redis(host="127.0.0.1", port=1))
    tracker = OffsetTracker()
    tracker.start(TOPIC, 0, 0, 0)
    ledger = Ledger(down, "p", "g", 0.1)
    ledger.write(tracker.progress(), 1.0)
    assert not ledger.due(1.5)  # it leaves Redis alone for a while
    ledger.load({(TOPIC, 0): 0})
    assert not ledger.done(TOPIC, 0, 0)


def test_a_delivery_made_of_a_still_open_record_is_written_too() -> None:
    """Its offsets did not move, but the next owner must not send that delivery again."""
    client = FakeRedis()
    owner = Ledger(client, "p", "g", 0.1)
    tracker = OffsetTracker()
    slot = tracker.start(TOPIC, 0, 7, 2)
    assert slot is not None
    owner.write(tracker.progress(), 1.0)
    tracker.finish(slot, "sub-a")
    owner.write(tracker.progress(), 1.2)

    heir = Ledger(client, "p", "g", 0.1)
    heir.load({(TOPIC, 0): 7})
    assert heir.done(TOPIC, 0, 7) == {"sub-a"}


def test_unchanged_progress_is_not_written_again() -> None:
    client = FakeRedis()
    owner = Ledger(client, "p", "g", 0.1)
    tracker = OffsetTracker()
    tracker.start(TOPIC, 0, 7, 0)
    owner.write(tracker.progress(), 1.0)
    owner.write(tracker.progress(), 1.2)
    assert client.writes == 1


def test_beside_a_hung_subscriber_the_names_are_written_once_not_per_record() -> None:
    tracker = OffsetTracker()
    healthy = [f"subscription-{n:032d}" for n in range(13)]
    for offset in range(1000):  # each record: 13 delivered, the hung subscriber's open
        slot = tracker.start(TOPIC, 0, offset, 14)
        assert slot is not None
        for name in healthy:
            tracker.finish(slot, name)
    raw = to_json(tracker.progress()[(TOPIC, 0)])
    decoded = from_json(raw)
    assert decoded.still_open == list(range(1000))
    assert all(sorted(decoded.done[offset]) == healthy for offset in range(1000))
    assert len(raw) < 10 * 1000  # offsets listed; the 13 names of 45 bytes not 1,000 times


def test_the_older_form_is_still_read() -> None:
    client = FakeRedis()
    ledger = Ledger(client, "p", "g", 0.1)
    client.data[ledger.key((TOPIC, 0))] = '[0,2,6,[2,4],[[2,["a","b"]],[4,["c"]]]]'
    ledger.load({(TOPIC, 0): 0})
    assert ledger.done(TOPIC, 0, 1) is True and ledger.done(TOPIC, 0, 3) is True
    assert ledger.done(TOPIC, 0, 2) == {"a", "b"} and ledger.done(TOPIC, 0, 4) == {"c"}
