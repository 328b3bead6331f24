"""``blazar-events operator``: the kopf operator for EventSubscription resources.

Handlers stay thin: each hands the resource to :class:`~k8s.operator.reconcile.Reconciler`
and writes the status it returns. A background thread makes the Triggers follow the store,
API-created subscriptions included (:mod:`k8s.operator.follower`).
"""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Mapping
from typing import Any

import kopf

from blazar_events import logs
from blazar_events.errors import ServiceUnavailable
from blazar_events.redis_clients import to_redis
from blazar_events.settings import EventSettings, KafkaSettings, RedisSettings
from blazar_events.store import SubscriptionStore
from k8s.operator.follower import follow_forever
from k8s.operator.kubeapi import KubeApi
from k8s.operator.reconcile import Reconciler
from k8s.operator.snapshots import SnapshotWriter
from k8s.operator.status import to_status
from k8s.settings import OperatorSettings

log = logging.getLogger(__name__)

RESOURCE = ("events.blazar.openstack.org", "v1alpha1", "eventsubscriptions")
STATUS_REFRESH_SECONDS = 30.0
RETRY_SECONDS = 10.0


def handle_apply(
    reconciler: Reconciler,
    body: Mapping[str, Any],
    status: Mapping[str, Any],
    patch: kopf.Patch,
    *,
    reenable: bool = False,
) -> None:
    """Create, update, resume and the periodic look: reconcile and write the status."""
    try:
        outcome = reconciler.reconcile(dict(body), reenable=reenable)
    except ServiceUnavailable as exc:  # Redis is down: kopf retries, the status stays as it was
        raise kopf.TemporaryError(exc.message, delay=RETRY_SECONDS) from None
    patch.status.update(to_status(outcome, dict(status)))


def handle_remove(reconciler: Reconciler, body: Mapping[str, Any]) -> None:
    """The finalizer: kopf keeps the resource until this returns without raising."""
    try:
        reconciler.remove(dict(body))
    except ServiceUnavailable as exc:
        raise kopf.TemporaryError(exc.message, delay=RETRY_SECONDS) from None


def to_registry(reconciler: Reconciler) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()

    def apply(body: kopf.Body, status: kopf.Status, patch: kopf.Patch, **_: Any) -> None:
        handle_apply(reconciler, body, status, patch)

    def edit(body: kopf.Body, status: kopf.Status, patch: kopf.Patch, **_: Any) -> None:
        handle_apply(reconciler, body, status, patch, reenable=True)

    def remove(body: kopf.Body, **_: Any) -> None:
        handle_remove(reconciler, body)

    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        # Keep kopf's bookkeeping in annotations: the CRD's status schema has no room for it.
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage()
        settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage()
        settings.posting.level = logging.WARNING

    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        # kopf logs in by itself only through the pykube or kubernetes libraries, neither of
        # which this project installs; without this handler it finds no credentials at all.
        found = kopf.login_with_service_account(**kwargs)
        return found if found is not None else kopf.login_with_kubeconfig(**kwargs)

    kopf.on.startup(registry=registry)(configure)
    kopf.on.login(registry=registry)(login)
    for decorator in (kopf.on.create, kopf.on.resume):
        decorator(*RESOURCE, registry=registry)(apply)
    kopf.on.update(*RESOURCE, registry=registry)(edit)
    # Trigger readiness changes without any change to the resource: look again periodically.
    kopf.timer(*RESOURCE, interval=STATUS_REFRESH_SECONDS, registry=registry)(apply)
    kopf.on.delete(*RESOURCE, registry=registry)(remove)
    return registry


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="blazar-events operator", description=__doc__)
    parser.add_argument("--namespace", action="append", default=[], help="watch this namespace")
    parser.add_argument("--all-namespaces", action="store_true", help="watch every namespace")
    args = parser.parse_args(argv)
    if not args.namespace and not args.all_namespaces:
        parser.error("give --namespace (repeatable) or --all-namespaces")
    settings = OperatorSettings.load()
    if settings.knative and settings.token_key is None:
        # Triggers without tokens would be refused by the function (401) on every event.
        parser.error("Knative mode needs [operator] token_key (BLAZAR_EVENTS_OPERATOR_TOKEN_KEY)")
    logs.configure(settings.log_level, settings.log_format)
    redis_settings = RedisSettings.load()
    store = SubscriptionStore(to_redis(redis_settings), redis_settings.key_prefix)
    reconciler = Reconciler(store, KubeApi.from_environment(), settings)
    stop = threading.Event()
    threading.Thread(target=follow_forever, args=(reconciler, stop), daemon=True).start()
    registry = to_registry(reconciler)
    if settings.knative:  # no broker there: the operator writes the snapshots
        snapshots = SnapshotWriter(store, KafkaSettings.load(), EventSettings.load().source_prefix)
        threading.Thread(target=snapshots.run, name="snapshots", daemon=True).start()

        def snapshot_health(**_: Any) -> str:  # shown on the liveness endpoint
            return "ok" if snapshots.healthy else "snapshot requests unavailable (see the log)"

        kopf.on.probe(id="snapshots", registry=registry)(snapshot_health)
    try:
        kopf.run(
            registry=registry,
            standalone=True,
            clusterwide=args.all_namespaces,
            namespaces=args.namespace,
            liveness_endpoint=f"http://{settings.host}:{settings.port}/healthz",
        )
    finally:
        stop.set()
    return 0
