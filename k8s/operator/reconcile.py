"""Reconcile EventSubscriptions into the store, and the store into Knative Triggers.

Two loops meet in the Redis store (docs/design.md, Contract 4):

* :meth:`Reconciler.reconcile` turns one EventSubscription into a stored subscription (owner
  ``k8s``, id = the resource's uid, so a restart never duplicates it) and its Trigger, and
  reports what it found as an :class:`~k8s.operator.status.Outcome`;
* :meth:`Reconciler.sync` makes the Triggers match the store, whoever created the record:
  a Trigger deleted by hand comes back, the Trigger of a deleted (or disabled) API
  subscription goes.

Triggers come from :func:`blazar_events.triggers.to_trigger`, the function the API uses to
show them, so what the API shows is what the operator applies.
"""

from __future__ import annotations

import logging
from typing import Any

from blazar_events import egress
from blazar_events.errors import BlazarEventsError, InvalidInput, NotFound, PolicyNotAuthorized
from blazar_events.settings import EgressSettings, TriggerSettings
from blazar_events.store import Quota, QuotaExceeded, SubscriptionStore
from blazar_events.subscription import SigningKeys, Subscription, SubscriptionInput
from blazar_events.triggers import LABEL_ID, function_name, to_trigger, trigger_name
from k8s.operator.cluster import Cluster
from k8s.operator.functions import to_dedicated_function
from k8s.operator.spec import from_resource
from k8s.operator.status import FALSE, TRUE, UNKNOWN, Condition, Outcome
from k8s.operator.tenancy import PROJECT_ANNOTATION, to_project
from k8s.settings import OperatorSettings

log = logging.getLogger(__name__)

SECRET_KEY = "secret"


class Reconciler:
    def __init__(
        self, store: SubscriptionStore, cluster: Cluster, settings: OperatorSettings
    ) -> None:
        self.store = store
        self.cluster = cluster
        self.settings = settings
        self.allowed = egress.parse_networks(EgressSettings.load_for(settings).allowed_networks)
        # Where Triggers and functions go; the operator's own namespace in the chart.
        self.target = TriggerSettings.load_for(settings)
        self.admin_namespaces = set(settings.admin_namespaces or [self.target.namespace])
        # The API's quotas, checked by the same store calls atomically with each write.
        self.quota = Quota(
            subscriptions=settings.max_subscriptions_per_project,
            dedicated_functions=settings.max_dedicated_functions_per_project,
        )

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

    # --- one EventSubscription ----------------------------------------------------------------

    def reconcile(self, body: dict[str, Any], *, reenable: bool = False) -> Outcome:
        """Store and route one resource; ``reenable`` (a spec edit) revives a disabled one."""
        meta, spec = body["metadata"], body.get("spec") or {}
        namespace, name = meta["namespace"], meta["name"]
        outcome = Outcome(meta.get("generation"), subscription_id=meta["uid"])

        sink = spec.get("sink")
        if "sinkRef" in spec:
            sink = self.cluster.address(namespace, spec["sinkRef"])
            if sink is None:
                ref = spec["sinkRef"]
                return outcome.failed(
                    "SinkNotResolved", f"sinkRef {ref.get('kind')}/{ref.get('name')} has no address"
                )
        dead_letter = spec.get("delivery", {}).get("deadLetterSink", {})
        dead_letter_url = dead_letter.get("uri")
        if "ref" in dead_letter:
            dead_letter_url = self.cluster.address(namespace, dead_letter["ref"])
            if dead_letter_url is None:
                return outcome.failed("SinkNotResolved", "deadLetterSink.ref has no address")

        try:
            project_id = to_project(
                namespace,
                spec.get("projectId"),
                self.cluster.namespace_annotation(namespace, PROJECT_ANNOTATION),
                self.admin_namespaces,
            )
            wanted = from_resource(
                spec,
                name=f"{namespace}/{name}",
                project_id=project_id,
                sink=sink,
                dead_letter_sink=dead_letter_url,
            )
            assert wanted.sink is not None  # the model settles the sink or refuses
            egress.resolve_and_check(wanted.sink, self.allowed, resolve=False)
            if wanted.delivery.deadLetterSink:
                # The same rules as the sink: the function delivers dead letters too.
                try:
                    egress.resolve_and_check(
                        wanted.delivery.deadLetterSink, self.allowed, resolve=False
                    )
                except InvalidInput as exc:  # SinkRefused: the same kind, the field named
                    raise type(exc)(f"deadLetterSink: {exc.message}", **exc.details) from None
        except (InvalidInput, PolicyNotAuthorized) as exc:
            # The last valid spec, if any, stays in effect; the status says why this one is not.
            return outcome.failed(exc.name, exc.message)
        outcome.sink_uri = wanted.sink

        keys = self._signing_keys(body, spec, outcome)
        if keys is None:
            return outcome
        stored = self._store(meta["uid"], wanted, keys, outcome)
        if stored is None:
            return outcome
        if reenable and stored.status != "ACTIVE":
            # Disabled by a 410 from the sink; editing the resource is how its owner says
            # the sink is back (the API treats k8s-owned subscriptions as read-only).
            stored = self.store.set_status(stored.id, "ACTIVE")
        outcome.conditions.append(Condition("Stored", TRUE, "Stored", "in the subscription store"))
        if self.settings.knative:
            self._route(stored, outcome)
        return outcome

    def _signing_keys(
        self, body: dict[str, Any], spec: dict[str, Any], outcome: Outcome
    ) -> SigningKeys | None:
        namespace = body["metadata"]["namespace"]
        if "secretRef" in spec:
            ref = spec["secretRef"]
            secret_name, key = ref["name"], ref.get("key", SECRET_KEY)
            value = self.cluster.read_secret(namespace, secret_name, key)
            if value is None:
                outcome.failed("SecretNotFound", f"Secret {secret_name} has no key {key!r}")
                return None
            if not value.startswith("whsec_"):
                message = f"Secret {secret_name}/{key} is not a whsec_ signing secret"
                outcome.failed("InvalidSecret", message)
                return None
        else:
            secret_name = f"{body['metadata']['name']}-signing"[:253]
            value = self.cluster.read_secret(namespace, secret_name, SECRET_KEY)
            if value is None:
                value = SigningKeys.new_secret()
                self.cluster.create_secret(namespace, secret_name, {SECRET_KEY: value}, body)
        outcome.secret_name = secret_name
        return SigningKeys(current=value)

    def _store(
        self, sub_id: str, wanted: SubscriptionInput, keys: SigningKeys, outcome: Outcome
    ) -> Subscription | None:
        assert wanted.project_id is not None
        new = Subscription.from_input(wanted, project_id=wanted.project_id, owner="k8s", id=sub_id)
        try:
            existing = self.store.get(sub_id)
        except NotFound:
            created = self._create(new, keys, outcome)
            if created is not None and wanted.initial_state:
                self._request_snapshot(created, outcome)
            return created
        if existing.owner != "k8s":
            outcome.failed("Conflict", f"subscription {sub_id} exists and belongs to the API")
            return None
        if self.store.get_keys(sub_id).current != keys.current:
            # The store has no "set keys" call: a changed Secret re-creates the record under
            # the same id (the Trigger does not change; the delivery log starts afresh).
            self.store.delete(sub_id)
            return self._create(new, keys, outcome)
        replaced = existing.replaced_by(wanted, project_id=wanted.project_id)
        if replaced.to_input() == existing.to_input():
            return existing
        try:
            return self.store.update(replaced, quota=self.quota)
        except QuotaExceeded as exc:
            outcome.failed("QuotaExceeded", exc.message)
            return None

    def _request_snapshot(self, sub: Subscription, outcome: Outcome) -> None:
        """``initialState``: asked once, when the record is first stored."""
        try:
            self.store.request_snapshot(sub.id)
        except BlazarEventsError as exc:  # the subscription stands; the status says why
            outcome.conditions.append(Condition("InitialState", FALSE, "NotRequested", exc.message))

    def _create(
        self, new: Subscription, keys: SigningKeys, outcome: Outcome
    ) -> Subscription | None:
        try:
            return self.store.create(new, keys, self.quota)
        except QuotaExceeded as exc:
            outcome.failed("QuotaExceeded", exc.message)
            return None

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

    def remove(self, body: dict[str, Any]) -> None:
        """The resource is being deleted: its record and its Trigger go."""
        sub_id = body["metadata"]["uid"]
        try:
            if self.store.get(sub_id).owner == "k8s":
                self.store.delete(sub_id)
        except NotFound:
            pass
        if self.settings.knative:
            self.cluster.delete_trigger(self.target.namespace, trigger_name(sub_id))
            self.cluster.delete_function(self.target.namespace, function_name(sub_id))

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
