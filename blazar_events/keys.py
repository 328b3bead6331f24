"""The Redis key layout: every key name blazar-events uses, built here and nowhere else.

All keys live under ``[redis] key_prefix`` (``blazar-events`` by default), so several
deployments can share one Redis. The strings are part of the stored data: a running
deployment's keys must keep their names across upgrades, and tests/blazar_events/test_keys.py
pins every one of them.

Owners, for a reader following a key to its code:

* subscriptions, their signing keys and indexes: :mod:`blazar_events.store`;
* the change feed, delivery logs, replay/test requests: :mod:`blazar_events.streams`;
* per-route and per-project request throttles: ``api/throttle.py``;
* retries, ordered per-lease queues, replay claims, the hand-over ledger: ``broker/``;
* the reminder schedule: ``reminders/schedule.py``;
* the function service's attempt counters and receipts: ``functions/subscribers.py``,
  ``functions/receipts.py``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    """The key names under one prefix."""

    prefix: str = "blazar-events"

    # --- subscriptions (store) ----------------------------------------------------------------

    def subscription(self, sub_id: str) -> str:
        return f"{self.prefix}:sub:{sub_id}"

    def signing_keys(self, sub_id: str) -> str:
        return f"{self.prefix}:keys:{sub_id}"

    def index(self, kind: str, value: str = "") -> str:
        """``idx:all``, ``idx:project:<p>``, ``idx:lease:<l>``, ``idx:type:<t>``, ..."""
        return f"{self.prefix}:idx:{kind}:{value}" if value else f"{self.prefix}:idx:{kind}"

    def index_parts(self, key: str) -> tuple[str, str]:
        """(kind, value) of an index key with a value, e.g. ``("project", "p1")``."""
        kind, value = key.removeprefix(f"{self.prefix}:idx:").split(":", 1)
        return kind, value

    # --- streams ------------------------------------------------------------------------------

    @property
    def changes(self) -> str:
        return f"{self.prefix}:changes"

    @property
    def replays(self) -> str:
        return f"{self.prefix}:replays"

    def deliveries(self, sub_id: str) -> str:
        return f"{self.prefix}:deliveries:{sub_id}"

    # --- API throttles ------------------------------------------------------------------------

    def throttle(self, route: str, sub_id: str) -> str:
        return f"{self.prefix}:throttle:{route}:{sub_id}"

    def project_throttle(self, project_id: str) -> str:
        return f"{self.prefix}:throttle:project:{project_id}"

    # --- standalone broker --------------------------------------------------------------------

    @property
    def requests_cursor(self) -> str:
        """Where the brokers' request follower has got to in :attr:`replays`."""
        return f"{self.prefix}:broker:requests-cursor"

    def request_claim(self, request_id: str) -> str:
        return f"{self.prefix}:broker:request:{request_id}"

    @property
    def retries(self) -> str:
        return f"{self.prefix}:broker:retries"

    @property
    def retry_jobs(self) -> str:
        return f"{self.prefix}:broker:retry-jobs"

    @property
    def retry_rejected(self) -> str:
        return f"{self.prefix}:broker:retry-rejected"

    @property
    def ordered_due(self) -> str:
        return f"{self.prefix}:broker:ordered-due"

    def ordered(self, member: str) -> str:
        return f"{self.prefix}:broker:ordered:{member}"

    def ledger(self, group: str, topic: str, partition: int) -> str:
        """What a broker process settled beyond its commit, per partition (broker/ledger.py)."""
        return f"{self.prefix}:ledger:{group}:{topic}:{partition}"

    # --- reminder scheduler (reminders/schedule.py) -------------------------------------------

    def reminders(self, name: str) -> str:
        """``leases``, ``tombstones``, ``due``, ``inflight``, ``claimed``, ``leads``,
        ``project:<p>`` (the layout is described in reminders/schedule.py)."""
        return f"{self.prefix}:reminders:{name}"

    # --- function service ---------------------------------------------------------------------

    def attempts(self, sub_id: str, event_id: str) -> str:
        return f"{self.prefix}:fn:attempts:{sub_id}:{event_id}"

    def receipts(self, sub_id: str) -> str:
        """The events delivered to ``sub_id`` lately (``functions/receipts.py``)."""
        return f"{self.prefix}:fn:receipts:{sub_id}"
