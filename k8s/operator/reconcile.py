"""Reconcile EventSubscriptions into the store, and the store into Knative Triggers.

Two loops meet in the Redis store (docs/design.md, Contract 4):

* :meth:`Reconciler.reconcile` turns one EventSubscription into a stored subscription (owner
  ``k8s``, id = the resource's uid, so a restart never duplicates it) and its Trigger, and
  reports what it found as an :class:`~k8s.operator.status.Outcome`;
* :meth:`Reconciler.sync` makes the Triggers match the store, whoever created the record:
  a Trigger deleted by hand comes back, the Trigger of a deleted (or disabled) API
  subscription goes.

The Trigger side, :meth:`~k8s.operator.routes.Routes.sync` included, is
:mod:`k8s.operator.routes`, the base of :class:`Reconciler`.
"""

from __future__ import annotations

from typing import Any

from blazar_events import egress
from blazar_events.errors import BlazarEventsError, InvalidInput, NotFound, PolicyNotAuthorized
from blazar_events.settings import EgressSettings
from blazar_events.store import Quota, QuotaExceeded, SubscriptionStore
from blazar_events.subscription import SigningKeys, Subscription, SubscriptionInput
from blazar_events.triggers import function_name, trigger_name
from k8s.operator.cluster import Cluster
from k8s.operator.routes import Routes
from k8s.operator.spec import from_resource
from k8s.operator.status import FALSE, TRUE, Condition, Outcome
from k8s.operator.tenancy import PROJECT_ANNOTATION, to_project
from k8s.settings import OperatorSettings

SECRET_KEY = "secret"


class Reconciler(Routes):
    def __init__(
        self, store: SubscriptionStore, cluster: Cluster, settings: OperatorSettings
    ) -> None:
        super().__init__(store, cluster, settings)
        self.allowed = egress.parse_networks(EgressSettings.load_for(settings).allowed_networks)
        self.admin_namespaces = set(settings.admin_namespaces or [self.target.namespace])
        # The API's quotas, checked by the same store calls atomically with each write.
        self.quota = Quota(
            subscriptions=settings.max_subscriptions_per_project,
            dedicated_functions=settings.max_dedicated_functions_per_project,
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
