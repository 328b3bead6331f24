"""What a subscription's ``status_reason`` says when its own filters or deliveries failed.

One wording for the standalone broker (``broker/incidents.py``) and the Knative function
(``functions/``), so that a tenant reads the same words whichever mode serves them, and a
reason left by failing filters goes when the filters are changed (``Subscription.replaced_by``).
"""

from __future__ import annotations

MAX_REASON = 300
PREFIX = {"match": "its filters could not be evaluated", "deliver": "delivering failed"}


def to_reason(stage: str, error: BaseException) -> str:
    return f"{PREFIX.get(stage, stage)}: {type(error).__name__}: {error}"[:MAX_REASON]


def is_match_failure(reason: str | None) -> bool:
    """Whether ``reason`` says the filters failed (and so holds only until they change)."""
    return bool(reason) and str(reason).startswith(PREFIX["match"])
