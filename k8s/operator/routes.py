"""The Knative side of the operator: each active subscription's Trigger, and its own function
when it asks for one, applied from the store; whatever the store no longer holds removed.

Triggers come from :func:`blazar_events.triggers.to_trigger`, the function the API uses to
show them, so what the API shows is what the operator applies. :class:`Routes` is the base of
:class:`~k8s.operator.reconcile.Reconciler`, which stores EventSubscriptions first.
"""

from __future__ import annotations

import logging
from typing import Any

from blazar_events.errors import NotFound
from blazar_events.settings import TriggerSettings
from blazar_events.store import SubscriptionStore
from blazar_events.subscription import Subscription
from blazar_events.triggers import LABEL_ID, function_name, to_trigger, trigger_name
from k8s.operator.cluster import Cluster
from k8s.operator.functions import to_dedicated_function
from k8s.operator.status import FALSE, TRUE, UNKNOWN, Condition, Outcome
from k8s.settings import OperatorSettings

log = logging.getLogger("k8s.operator.reconcile")  # the logger name operators already filter on


class Routes:
    """Triggers and dedicated functions that match the subscription store."""

    def __init__(
        self, store: SubscriptionStore, cluster: Cluster, settings: OperatorSettings
    ) -> None:
        self.store = store
        self.cluster = cluster
        self.settings = settings
        # Where Triggers and functions go; the operator's own namespace in the chart.
        self.target = TriggerSettings.load_for(settings)

    def trigger(self, sub: Subscription) -> dict[str, Any]:
        """The Trigger of ``sub``: to its own function if it has ``dedicated_function``."""
        key = self.settings.token_key
        return to_trigger(
            sub,
            broker=self.target.broker,
            namespace=self.target.namespace,
            function_url=self.target.function_url,
            token_key=None if key is None else key.get_secret_value().encode(),
        )

    def _route(self, sub: Subscription, outcome: Outcome) -> None:
        namespace, name = self.target.namespace, trigger_name(sub.id)
        outcome.trigger_name = name
        if sub.status != "ACTIVE":
            self.cluster.delete_trigger(namespace, name)
            reason = sub.status_reason or "disabled"
            outcome.conditions.append(Condition("TriggerReady", FALSE, "Disabled", reason))
            return
        function = self._function(sub)
        if function is not None:
            if function.reason == "FunctionMissing":
                outcome.failed("FunctionNotReady", function.message)
                return
            outcome.conditions.append(function)
        self.cluster.apply_trigger(self.trigger(sub))
        outcome.conditions.append(
            _readiness("TriggerReady", "Trigger", self.cluster.trigger_ready(namespace, name))
        )

    def _function(self, sub: Subscription) -> Condition | None:
        """Give ``sub`` its own function if it asks for one, else remove any; its condition.

        The copy is made from the shared function's Knative Service as the chart rendered it;
        without that Service there is nothing to copy (reason ``FunctionMissing``).
        """
        namespace, name = self.target.namespace, function_name(sub.id)
        if not sub.dedicated_function:
            self.cluster.delete_function(namespace, name)
            return None
        shared = self.cluster.get_function(namespace, self.settings.function_service)
        if shared is None:
            message = f"the shared function {self.settings.function_service} to copy is missing"
            return Condition("FunctionReady", FALSE, "FunctionMissing", message)
        self.cluster.apply_function(to_dedicated_function(shared, sub.id, namespace))
        return _readiness("FunctionReady", "Function", self.cluster.function_ready(namespace, name))

    # --- the whole store ----------------------------------------------------------------------

    def route(self, sub_id: str) -> None:
        """Bring one subscription's Trigger (and function) in line with its record.

        Called for each change-feed entry, so a subscription created through the API gets its
        Trigger, and its own function when it asks for one, within moments.
        """
        if not self.settings.knative:
            return
        try:
            sub: Subscription | None = self.store.get(sub_id)
        except NotFound:
            sub = None
        self._apply(sub_id, sub)

    def _apply(self, sub_id: str, sub: Subscription | None) -> None:
        namespace = self.target.namespace
        if sub is None or sub.status != "ACTIVE":
            self.cluster.delete_trigger(namespace, trigger_name(sub_id))
            self.cluster.delete_function(namespace, function_name(sub_id))
            return
        function = self._function(sub)
        if function is not None and function.reason == "FunctionMissing":
            log.warning("subscription %s: %s", sub.id, function.message)
            return
        self.cluster.apply_trigger(self.trigger(sub))

    def sync(self) -> tuple[list[str], list[str]]:
        """Make the Triggers and dedicated functions match the store.

        Returns the names of the Triggers applied and of those deleted.
        """
        if not self.settings.knative:
            return [], []
        namespace = self.target.namespace
        wanted = {trigger_name(s.id): s for s in self.store.all() if s.status == "ACTIVE"}
        for sub in wanted.values():
            self._apply(sub.id, sub)
        present = self.cluster.list_triggers(namespace, LABEL_ID)
        stale = sorted(set(present) - set(wanted))
        for name in stale:
            log.info("deleting Trigger %s: its subscription is gone or disabled", name)
            self.cluster.delete_trigger(namespace, name)
        own = {function_name(s.id) for s in wanted.values() if s.dedicated_function}
        for name in set(self.cluster.list_functions(namespace, LABEL_ID)) - own:
            log.info("deleting dedicated function %s: its subscription no longer has one", name)
            self.cluster.delete_function(namespace, name)
        return sorted(wanted), stale


def _readiness(kind: str, what: str, state: tuple[bool | None, str]) -> Condition:
    ready, message = state
    if ready is None:
        return Condition(kind, UNKNOWN, f"{what}Pending", message)
    if ready:
        return Condition(kind, TRUE, kind, message)
    return Condition(kind, FALSE, f"{what}NotReady", message)
