"""The Redis key layout: every name exactly as the data of running deployments has it."""

from __future__ import annotations

from blazar_events.keys import Keys
from blazar_events.store import SubscriptionStore
from blazar_events.subscription import SigningKeys, Subscription, from_input


def test_every_key_name_is_unchanged() -> None:
    """Renaming any of these strands the data a deployment already has in Redis."""
    keys = Keys("p")
    assert keys.subscription("s1") == "p:sub:s1"
    assert keys.signing_keys("s1") == "p:keys:s1"
    assert keys.index("all") == "p:idx:all"
    assert keys.index("project", "pr") == "p:idx:project:pr"
    assert keys.index("lease", "l1") == "p:idx:lease:l1"
    assert keys.index("type", "*") == "p:idx:type:*"
    assert keys.index("dedicated", "pr") == "p:idx:dedicated:pr"
    assert keys.changes == "p:changes"
    assert keys.replays == "p:replays"
    assert keys.deliveries("s1") == "p:deliveries:s1"
    assert keys.throttle("replay", "s1") == "p:throttle:replay:s1"
    assert keys.project_throttle("pr") == "p:throttle:project:pr"
    assert keys.requests_cursor == "p:broker:requests-cursor"
    assert keys.request_claim("r1") == "p:broker:request:r1"
    assert keys.retries == "p:broker:retries"
    assert keys.retry_jobs == "p:broker:retry-jobs"
    assert keys.retry_rejected == "p:broker:retry-rejected"
    assert keys.ordered_due == "p:broker:ordered-due"
    assert keys.ordered("s1|l1") == "p:broker:ordered:s1|l1"
    assert keys.attempts("s1", "e1") == "p:fn:attempts:s1:e1"
    assert keys.receipts("s1") == "p:fn:receipts:s1"
    assert keys.ledger("g", "t", 3) == "p:ledger:g:t:3"
    assert keys.reminders("due") == "p:reminders:due"
    assert keys.reminders("project:") == "p:reminders:project:"
    assert Keys().subscription("s1") == "blazar-events:sub:s1"


def test_an_index_key_reads_back_into_its_parts() -> None:
    keys = Keys("a:b")  # a prefix with a colon of its own
    assert keys.index_parts(keys.index("project", "p:1")) == ("project", "p:1")


def test_the_store_writes_where_existing_data_lives(store: SubscriptionStore) -> None:
    """A subscription written as before the layout moved is found in the same keys."""
    body = {"sink": "https://hooks.example.org/", "types": ["lease.create"], "lease_id": "lease-1"}
    sub = Subscription.from_input(from_input(body), project_id="project-a")
    store.create(sub, SigningKeys.generate())
    p = store.prefix
    written = {key.decode() for key in store.client.scan_iter(match=f"{p}:*")}
    assert {
        f"{p}:sub:{sub.id}",
        f"{p}:keys:{sub.id}",
        f"{p}:idx:all",
        f"{p}:idx:project:project-a",
        f"{p}:idx:lease:lease-1",
        f"{p}:idx:type:{sub.types[0]}",
        f"{p}:changes",
    } <= written
