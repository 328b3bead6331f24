"""What one delivery attempt came to, and how an HTTP answer maps onto it.

The mapping is docs/design.md's Contract 3. Like kopf's ``TemporaryError(delay)`` and arq's
``Retry(defer=...)``, the attempt returns one of a small set of values; the caller decides what
that means for it: the Knative function service turns them into status codes, the standalone
broker into its retry schedule.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

RETRYABLE_STATUSES: Final = frozenset({408, 409, 429})


@dataclass(frozen=True, slots=True)
class Delivered:
    status: int


@dataclass(frozen=True, slots=True)
class Retry:
    """Try again later; ``after`` is the sink's ``Retry-After`` (seconds, capped), if any."""

    error: str
    status: int | None = None
    after: float | None = None
    timed_out: bool = False  # the sink answered nothing before the deadline


@dataclass(frozen=True, slots=True)
class PermanentFailure:
    """Retrying cannot help (a 4xx, a refused address): dead-letter it now."""

    error: str
    status: int | None = None


@dataclass(frozen=True, slots=True)
class Gone:
    """The sink answered 410: the subscriber went away, the subscription is disabled."""

    error: str = "the sink answered 410 Gone"
    status: int = 410


Outcome = Delivered | Retry | PermanentFailure | Gone


def from_retry_after(value: str | None, cap: float, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), capped."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), cap)


def from_status(status: int, retry_after: str | None = None, cap: float = 300.0) -> Outcome:
    """Contract 3: 2xx ok; 408, 409, 429, 5xx retry; 410 gone; any other answer fails for good."""
    if 200 <= status < 300:
        return Delivered(status)
    if status == 410:
        return Gone()
    if status in RETRYABLE_STATUSES or 500 <= status < 600:
        return Retry(f"the sink answered {status}", status, from_retry_after(retry_after, cap))
    if 300 <= status < 400:
        return PermanentFailure(f"the sink answered {status}; redirects are not followed", status)
    return PermanentFailure(f"the sink answered {status}", status)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt as the delivery log records it."""

    outcome: Outcome
    at: float  # Unix time the attempt started
    latency: float  # seconds until the answer (or the error)
    number: int  # 1 for the first attempt, 2 for the first retry...

    def to_log(self, event_id: str, event_type: str) -> dict[str, Any]:
        """The entry of the subscription's delivery log (``GET .../deliveries``)."""
        outcome = self.outcome
        return {
            "at": datetime.fromtimestamp(self.at, UTC).isoformat().replace("+00:00", "Z"),
            "event_id": event_id,
            "type": event_type,
            "attempt": self.number,
            "outcome": to_name(outcome),
            "status_code": outcome.status,
            "latency_ms": round(self.latency * 1000, 3),
            "error": None if isinstance(outcome, Delivered) else outcome.error,
        }


def to_name(outcome: Outcome) -> str:
    """``delivered``, ``retry``, ``failed`` or ``gone``: the label in logs and metrics."""
    if isinstance(outcome, Delivered):
        return "delivered"
    if isinstance(outcome, Retry):
        return "retry"
    if isinstance(outcome, Gone):
        return "gone"
    return "failed"
