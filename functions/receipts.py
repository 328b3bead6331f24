"""Receipts: which events the function has delivered, so that Knative's retry of an event the
sink already took is answered without sending it again.

Knative's dispatcher calls again whenever it got no 2xx: the function was killed after the
sink answered and before Knative heard, or the answer came after the Trigger's timeout. The
subscriber would see the event twice. After the sink's 2xx the function writes a receipt in
a per-subscription sorted set (member: a digest of the delivery's identity, score: when); a
call that finds one is answered 202 and sends nothing.

Identity: the Kafka record Knative read (the ``knativekafkatopic``/``partition``/``offset``
extensions its dispatcher sets) with the event's source and id; without those extensions,
source and id alone. So a retry of the same record is caught, while a new record carrying an
id seen before (a snapshot asked for again) is delivered again.

Bounded: a receipt counts for ``window`` seconds, the set keeps the newest ``size`` and
expires with its last write. The check rides on the attempt counter's round trip, the
receipt on the delivery log's: no round trip is added. Not caught: a kill between the sink's 2xx and
the receipt, and a retry that arrives while the first call is still under way; those are
delivered twice, which at-least-once allows. Only a receipt written after a 2xx ever stops a
send, so nothing is lost by it.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from blazar_events.keys import Keys

RECORD_EXTENSIONS = ("knativekafkatopic", "knativekafkapartition", "knativekafkaoffset")


def to_identity(attributes: Mapping[str, Any]) -> str:
    """The digest naming one delivery of one record (see the module's docstring)."""
    # JSON, not a joined string: no two different tuples may encode alike (a collision
    # would suppress an event that was never sent).
    values = [attributes.get(name) for name in ("source", "id", *RECORD_EXTENSIONS)]
    parts = [None if value is None else str(value) for value in values]
    return hashlib.blake2b(json.dumps(parts).encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Receipts:
    keys: Keys
    window: float = 900.0  # seconds; 0 turns receipts off
    size: int = 10_000  # per subscription

    @property
    def enabled(self) -> bool:
        return self.window > 0 and self.size > 0

    def check(self, pipe: Any, sub_id: str, identity: str) -> None:
        """Queue the look-up on ``pipe``; its result goes to :meth:`found`."""
        pipe.zscore(self.keys.receipts(sub_id), identity)

    def found(self, score: float | None, now: float | None = None) -> bool:
        """Whether a looked-up receipt is one that counts (within the window)."""
        now = time.time() if now is None else now
        return score is not None and score > now - self.window

    def write(self, pipe: Any, sub_id: str, identity: str) -> None:
        """Queue on ``pipe``: the receipt, the window and the size enforced, the set's TTL."""
        key, now = self.keys.receipts(sub_id), time.time()
        pipe.zadd(key, {identity: now})
        pipe.zremrangebyscore(key, "-inf", now - self.window)
        pipe.zremrangebyrank(key, 0, -(self.size + 1))
        pipe.expire(key, math.ceil(self.window))
