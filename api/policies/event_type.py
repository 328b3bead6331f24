"""Policy of /v1/event-types: any authenticated caller may read the catalog."""

from __future__ import annotations

from oslo_policy import policy

from api.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="blazar-events:event_type:list",
        check_str=base.RULE_ANY,
        description="List the event types and their payload schemas",
        operations=[{"method": "GET", "path": "/v1/event-types"}],
    )
]


def list_rules() -> list[policy.DocumentedRuleDefault]:
    return rules
