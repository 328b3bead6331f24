"""The subscriptions a broker routes to, indexed so that matching one event only looks at
subscriptions that could match it.

Every subscription is filed under (its project or ``*``, each of its types or ``*``); an
event with project P and type T looks in the four buckets (P,T), (P,*), (*,T), (*,*) and runs
the compiled predicate (:func:`blazar_events.matching.compile_subscription`, the very code the
API validates, tenant rule included) on those only. Non-matching subscriptions of other
projects or types cost nothing, whatever their number.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from math import inf
from typing import Any

from blazar_events.matching import Matcher, compile_subscription
from blazar_events.subscription import ALL_PROJECTS, SigningKeys, Subscription
from delivery.request import Target, from_subscription

ANY = "*"


@dataclass(slots=True)
class Entry:
    """One subscription as the broker uses it; ``keys`` is loaded on first delivery."""

    sub: Subscription
    match: Matcher
    target: Target
    keys: SigningKeys | None = None
    buckets: tuple[tuple[str, str], ...] = field(default=())
    # ``keys.active()`` of these keys, and the Unix time until which it holds (the previous
    # secret's expiry): worked out once, not per delivery.
    secrets: list[str] = field(default_factory=list)
    secrets_of: SigningKeys | None = None
    secrets_until: float = 0.0

    @property
    def id(self) -> str:
        return self.sub.id


def active_secrets(entry: Entry) -> list[str]:
    """The secrets that sign now (the keys loaded): ``SigningKeys.active``, worked out again
    only when the previous secret's grace ends, to the second, not on every delivery."""
    keys = entry.keys
    assert keys is not None
    now = time.time()
    if entry.secrets_of is not keys or now >= entry.secrets_until:
        entry.secrets = keys.active(datetime.fromtimestamp(now, UTC))
        expires = keys.previous_expires_at
        entry.secrets_until = expires.timestamp() if len(entry.secrets) > 1 and expires else inf
        entry.secrets_of = keys
    return entry.secrets


class CompileError(Exception):
    """The subscription's filters could not even be compiled (raised on every match)."""


def _failing(error: Exception) -> Matcher:
    def match(_attributes: Mapping[str, str]) -> bool:
        raise CompileError(f"{type(error).__name__}: {error}") from error

    return match


def from_subscription_entry(sub: Subscription, keys: SigningKeys | None = None) -> Entry:
    project = ANY if sub.project_id == ALL_PROJECTS else sub.project_id
    buckets = tuple((project, t) for t in (sub.types or [ANY]))
    try:
        match = compile_subscription(sub)
    except Exception as exc:  # stored by an older API or a bus producer: contain it per entry
        match = _failing(exc)
    return Entry(sub, match, from_subscription(sub), keys, buckets)


class SubscriptionIndex:
    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._buckets: dict[tuple[str, str], dict[str, Entry]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[Entry]:
        return list(self._entries.values())

    def get(self, sub_id: str) -> Entry | None:
        return self._entries.get(sub_id)

    def put(self, entry: Entry) -> None:
        """Add or replace; a DISABLED subscription is kept (for lookups) but matches nothing."""
        old = self._entries.get(entry.id)
        if old is not None:
            self._unfile(old)
            # Keys are only known good for the version they were loaded with: a rotation
            # bumps the version, so a newer record (even one whose `secret` change was
            # missed) loads them afresh on its next delivery.
            if entry.keys is None and old.sub.version == entry.sub.version:
                entry.keys = old.keys
        self._entries[entry.id] = entry
        if entry.sub.status == "ACTIVE":
            for bucket in entry.buckets:
                self._buckets.setdefault(bucket, {})[entry.id] = entry

    def remove(self, sub_id: str) -> None:
        old = self._entries.pop(sub_id, None)
        if old is not None:
            self._unfile(old)

    def replace_all(self, entries: Iterable[Entry]) -> None:
        self._entries.clear()
        self._buckets.clear()
        for entry in entries:
            self.put(entry)

    def _unfile(self, entry: Entry) -> None:
        for bucket in entry.buckets:
            members = self._buckets.get(bucket)
            if members is not None:
                members.pop(entry.id, None)
                if not members:
                    del self._buckets[bucket]

    def match(
        self,
        attributes: Mapping[str, Any],
        failed: Callable[[Entry, Exception], None] | None = None,
    ) -> list[Entry]:
        """The active subscriptions that receive an event with these attributes.

        A subscription whose predicate raises does not receive the event; ``failed`` hears
        of it, and every other subscription is matched as usual.
        """
        project, event_type = attributes.get("projectid", ""), attributes.get("type", "")
        found: list[Entry] = []
        seen: set[str] = set()
        for bucket in ((project, event_type), (project, ANY), (ANY, event_type), (ANY, ANY)):
            members = self._buckets.get(bucket)
            if not members:
                continue
            for entry in members.values():
                if entry.id in seen:
                    continue
                try:
                    matched = entry.match(attributes)
                except Exception as exc:  # a tenant's filter: theirs alone to lose
                    seen.add(entry.id)
                    if failed is not None:
                        failed(entry, exc)
                    continue
                if matched:
                    seen.add(entry.id)
                    found.append(entry)
        return found
