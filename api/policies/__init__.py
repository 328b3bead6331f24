"""oslo.policy defaults in code, one module per resource.

``api.policies:list_rules`` is the ``oslo.policy.policies`` entry point (sample generator).
"""

from __future__ import annotations

import itertools

from oslo_policy import policy

from api.policies import base, event_type, subscription


def list_rules() -> list[policy.RuleDefault]:
    return list(
        itertools.chain(base.list_rules(), subscription.list_rules(), event_type.list_rules())
    )
