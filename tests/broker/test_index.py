"""Matching through the index gives exactly what the subscription's predicate allows."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blazar_events.matching import Matcher
from blazar_events.subscription import SigningKeys, Subscription
from broker.index import SubscriptionIndex, active_secrets, from_subscription_entry

START = "org.openstack.blazar.lease.event.start_lease"
END = "org.openstack.blazar.lease.event.end_lease"


def event(project: str, type_: str = START, lease: str = "l1") -> dict[str, str]:
    return {"projectid": project, "type": type_, "leaseid": lease, "id": "e1"}


def index_of(*subs: Subscription) -> SubscriptionIndex:
    index = SubscriptionIndex()
    for sub in subs:
        index.put(from_subscription_entry(sub))
    return index


def ids(index: SubscriptionIndex, attributes: dict[str, str]) -> set[str]:
    return {entry.id for entry in index.match(attributes)}


def test_a_member_only_receives_their_projects_leases() -> None:
    mine = Subscription(id="mine", project_id="p1", sink="http://h/")
    admin = Subscription(id="admin", project_id="*", sink="http://h/")
    index = index_of(mine, admin)

    assert ids(index, event("p1")) == {"mine", "admin"}
    assert ids(index, event("p2")) == {"admin"}


def test_types_lease_and_filters_narrow_it_down() -> None:
    typed = Subscription(id="typed", project_id="p1", sink="http://h/", types=[END])
    leased = Subscription(id="leased", project_id="p1", sink="http://h/", lease_id="l2")
    filtered = Subscription(
        id="filtered", project_id="p1", sink="http://h/",
        filters=[{"prefix": {"type": "org.openstack.blazar.lease.event."}}],
    )  # fmt: skip
    index = index_of(typed, leased, filtered)

    assert ids(index, event("p1", START, "l1")) == {"filtered"}
    assert ids(index, event("p1", END, "l2")) == {"typed", "leased", "filtered"}
    assert ids(index, event("p1", "org.openstack.blazar.lease.create", "l2")) == {"leased"}


def test_updates_deletes_and_disabled_subscriptions() -> None:
    sub = Subscription(id="s", project_id="p1", sink="http://h/", types=[START])
    index = index_of(sub)
    index.put(from_subscription_entry(sub.model_copy(update={"types": [END], "version": 2})))
    assert ids(index, event("p1", START)) == set()
    assert ids(index, event("p1", END)) == {"s"}

    index.put(from_subscription_entry(sub.model_copy(update={"status": "DISABLED"})))
    assert ids(index, event("p1", START)) == set()
    assert index.get("s") is not None

    index.remove("s")
    assert index.get("s") is None and len(index) == 0


def counting(name: str, calls: list[str]) -> Matcher:
    def match(attributes: Mapping[str, str]) -> bool:
        calls.append(name)
        return True

    return match


def test_other_projects_subscriptions_are_never_evaluated() -> None:
    calls: list[str] = []
    index = SubscriptionIndex()
    for n in range(1000):
        entry = from_subscription_entry(
            Subscription(id=f"s{n}", project_id=f"p{n}", sink="http://h/")
        )
        entry.match = counting(f"s{n}", calls)
        index.put(entry)

    assert ids(index, event("p7")) == {"s7"}
    assert calls == ["s7"]


ERRORS = st.sampled_from(
    [ValueError("int() of 5,000 digits"), RecursionError("deep"), MemoryError(),
     KeyError("x"), ZeroDivisionError(), TypeError("t"), OverflowError()]
)  # fmt: skip


@given(
    plan=st.lists(
        st.tuples(st.sampled_from(["p1", "p2", "*"]), st.one_of(st.booleans(), ERRORS)),
        min_size=1,
        max_size=30,
    ),
    project=st.sampled_from(["p1", "p2"]),
)
def test_a_predicate_that_raises_costs_only_its_own_subscription(
    plan: list[tuple[str, bool | Exception]], project: str
) -> None:
    index = SubscriptionIndex()
    for n, (sub_project, answer) in enumerate(plan):
        entry = from_subscription_entry(
            Subscription(id=f"s{n}", project_id=sub_project, sink="http://h/")
        )

        def match(_attributes: Mapping[str, str], answer: bool | Exception = answer) -> bool:
            if isinstance(answer, Exception):
                raise answer
            return answer

        entry.match = match
        index.put(entry)
    failed: list[str] = []

    found = {e.id for e in index.match(event(project), lambda e, _exc: failed.append(e.id))}

    reachable = {f"s{n}" for n, (p, _) in enumerate(plan) if p in (project, "*")}
    assert found == {f"s{n}" for n, (_, a) in enumerate(plan) if a is True} & reachable
    assert sorted(failed) == sorted(
        f"s{n}" for n, (_, a) in enumerate(plan) if isinstance(a, Exception) if f"s{n}" in reachable
    )


def test_filters_that_cannot_compile_fail_at_match_time_not_when_loaded() -> None:
    # Whatever the filter code makes of a stored filter it no longer accepts, loading the
    # subscription never fails: matching reports it for that subscription alone.
    broken = Subscription(id="broken", project_id="p1", sink="http://h/",
                          filters=[{"no-such-dialect": {"type": "x"}}])  # fmt: skip
    fine = Subscription(id="fine", project_id="p1", sink="http://h/")
    index = index_of(broken, fine)
    failed: list[tuple[str, str]] = []

    found = ids_failing(index, event("p1"), failed)

    assert found == {"fine"}
    assert [sub_id for sub_id, _ in failed] == ["broken"]


def ids_failing(
    index: SubscriptionIndex, attributes: dict[str, str], failed: list[tuple[str, str]]
) -> set[str]:
    return {e.id for e in index.match(attributes, lambda e, exc: failed.append((e.id, repr(exc))))}


def test_keys_are_kept_only_for_the_version_they_were_loaded_with() -> None:
    # A rotation bumps the version: a newer record whose `secret` change the broker missed
    # (a snapshot after a Redis outage) must not keep signing with the rotated-out keys.
    sub = Subscription(id="s", project_id="p1", sink="http://h/", types=[START])
    index = SubscriptionIndex()
    index.put(from_subscription_entry(sub, SigningKeys(current="whsec_b2xk")))
    index.put(from_subscription_entry(sub))  # the same version again: the keys stay
    entry = index.get("s")
    assert entry is not None and entry.keys is not None
    index.put(from_subscription_entry(sub.model_copy(update={"version": 2})))
    entry = index.get("s")
    assert entry is not None and entry.keys is None  # loaded afresh on the next delivery


def test_active_secrets_follow_the_rotation_grace_to_the_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Worked out once, not per delivery, yet the previous secret stops signing the moment
    its grace ends, and new keys (a rotation) are used at once."""
    now = 1_800_000_000.0
    monkeypatch.setattr(time, "time", lambda: now)
    expires = datetime.fromtimestamp(now + 30, UTC)
    keys = SigningKeys(current="whsec_bmV3", previous="whsec_b2xk", previous_expires_at=expires)
    sub = Subscription(id="s", project_id="p1", sink="http://h/")
    entry = from_subscription_entry(sub, keys)

    assert active_secrets(entry) == ["whsec_bmV3", "whsec_b2xk"]
    now += 29.999
    assert active_secrets(entry) == ["whsec_bmV3", "whsec_b2xk"]
    now += 0.001
    assert active_secrets(entry) == ["whsec_bmV3"]
    entry.keys = keys.rotated(timedelta(seconds=60), datetime.fromtimestamp(now, UTC))
    assert active_secrets(entry) == [entry.keys.current, "whsec_bmV3"]
