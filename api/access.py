"""Who may do what: the caller's context, oslo.policy checks and the store of this app.

A subscription the caller may not read is reported as missing (404), never as forbidden, so
nobody learns that another project's subscription exists.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app, g, request
from oslo_config import cfg
from oslo_context.context import RequestContext
from oslo_policy import policy

from api import auth
from api.policies import list_rules
from api.resolver import Resolver
from api.settings import ApiSettings
from blazar_events.errors import ConfigurationError, NotFound, PolicyNotAuthorized
from blazar_events.settings import TriggerSettings
from blazar_events.store import SubscriptionStore
from blazar_events.subscription import Subscription

EXTENSION = "blazar_events_api"


class Policy:
    """oslo.policy with a short-lived memo of decisions.

    oslo.policy re-inspects every check's signature on each call, which made up over half of
    a GET's time; a decision depends only on the rule, the target project and the caller's
    identity, so it is remembered for ``memo_seconds`` (a changed policy file applies after
    at most that long).
    """

    def __init__(self, policy_file: str | None, memo_seconds: float = 10.0) -> None:
        if policy_file and not Path(policy_file).is_file():
            raise ConfigurationError(f"api policy_file {policy_file}: no such file")
        conf = cfg.ConfigOpts()
        conf([], project="blazar-events", default_config_files=[])
        self.enforcer = policy.Enforcer(conf, policy_file=policy_file)
        self.enforcer.register_defaults(list_rules())
        self.memo_seconds = memo_seconds
        self._memo: dict[tuple[object, ...], bool] = {}
        self._memo_since = time.monotonic()

    def allows(self, rule: str, project_id: str, context: RequestContext) -> bool:
        now = time.monotonic()
        if now - self._memo_since > self.memo_seconds or len(self._memo) > 10_000:
            self._memo.clear()
            self._memo_since = now
        values = context.to_policy_values()
        key = (rule, project_id, *sorted((k, str(v)) for k, v in values.items()))
        decision = self._memo.get(key)
        if decision is None:
            try:
                decision = bool(
                    self.enforcer.authorize(
                        rule, {"project_id": project_id}, context, do_raise=False
                    )
                )
            except policy.InvalidScope:
                decision = False
            self._memo[key] = decision
        return decision


@dataclass
class Services:
    settings: ApiSettings
    store: SubscriptionStore
    policy: Policy
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(
        default_factory=tuple
    )
    resolver: Resolver = field(default_factory=Resolver)
    trigger: TriggerSettings = field(default_factory=TriggerSettings.load)


def services() -> Services:
    found: Services = current_app.extensions[EXTENSION]
    return found


def caller() -> RequestContext:
    if "context" not in g:
        g.context = auth.to_context(request.environ)
    context: RequestContext = g.context
    return context


def authorize(rule: str, project_id: str) -> None:
    if not services().policy.allows(rule, project_id, caller()):
        raise PolicyNotAuthorized(f"policy does not allow {rule} to be performed")


def allowed(rule: str, project_id: str) -> bool:
    return services().policy.allows(rule, project_id, caller())


def visible(sub_id: str, action: str) -> Subscription:
    """The subscription if the caller may read it (else 404), then may ``action`` it (else 403)."""
    sub = services().store.get(sub_id)
    if not allowed("blazar-events:subscription:get", sub.project_id):
        raise NotFound(f"subscription {sub_id} not found")
    authorize(f"blazar-events:subscription:{action}", sub.project_id)
    return sub
