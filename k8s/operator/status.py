"""The EventSubscription status: conditions Ready, Stored and TriggerReady; pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"


@dataclass
class Condition:
    type: str
    status: str
    reason: str
    message: str = ""


@dataclass
class Outcome:
    """What one reconcile found; :func:`to_status` turns it into the status subresource."""

    generation: int | None
    conditions: list[Condition] = field(default_factory=list)
    subscription_id: str | None = None
    sink_uri: str | None = None
    trigger_name: str | None = None
    secret_name: str | None = None

    @property
    def ready(self) -> bool:
        return bool(self.conditions) and all(c.status == TRUE for c in self.conditions)

    def failed(self, reason: str, message: str) -> Outcome:
        """Record a failure: Ready=False with this reason."""
        self.conditions.append(Condition("Ready", FALSE, reason, message))
        return self


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_status(outcome: Outcome, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """The status object; a condition keeps its lastTransitionTime while its status holds."""
    before = {c.get("type"): c for c in (previous or {}).get("conditions", [])}
    conditions = [c for c in outcome.conditions if c.type != "Ready"]
    ready = next((c for c in outcome.conditions if c.type == "Ready"), None)
    if ready is None:
        waiting = next((c for c in conditions if c.status != TRUE), None)
        ready = (
            Condition("Ready", TRUE, "Ready", "stored and routed")
            if waiting is None
            else Condition("Ready", waiting.status, waiting.reason, waiting.message)
        )
    rendered = []
    for condition in [ready, *conditions]:
        old = before.get(condition.type, {})
        changed = old.get("status") != condition.status
        rendered.append(
            {
                "type": condition.type,
                "status": condition.status,
                "reason": condition.reason,
                "message": condition.message,
                "lastTransitionTime": _now() if changed else old.get("lastTransitionTime", _now()),
                **({"observedGeneration": outcome.generation} if outcome.generation else {}),
            }
        )
    status: dict[str, Any] = {"conditions": rendered}
    if outcome.generation is not None:
        status["observedGeneration"] = outcome.generation
    for key, value in (
        ("subscriptionId", outcome.subscription_id),
        ("sinkUri", outcome.sink_uri),
        ("triggerName", outcome.trigger_name),
        ("secretName", outcome.secret_name),
    ):
        if value is not None:
            status[key] = value
    return status
