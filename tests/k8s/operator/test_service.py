"""The kopf wiring: handlers write the status, and Redis being down is retried, not fatal."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import kopf
import pytest
import redis

from blazar_events.store import SubscriptionStore
from k8s.operator.reconcile import Reconciler
from k8s.operator.service import handle_apply, handle_remove, main, to_registry
from k8s.settings import OperatorSettings
from tests.k8s.cluster import MemoryCluster

BODY = {
    "apiVersion": "events.blazar.openstack.org/v1alpha1",
    "kind": "EventSubscription",
    "metadata": {"name": "hook", "namespace": "blazar-events", "uid": "", "generation": 3},
    "spec": {"sink": "https://hooks.example.org/", "projectId": "p1"},
}


@pytest.fixture
def reconciler(redis_url: str, redis_prefix: str) -> Iterator[Reconciler]:
    client = redis.Redis.from_url(redis_url)
    yield Reconciler(SubscriptionStore(client, redis_prefix), MemoryCluster(), _settings())
    client.close()


def _settings() -> OperatorSettings:
    return OperatorSettings.load(namespace="blazar-events")


def _body() -> dict[str, object]:
    return {**BODY, "metadata": {**BODY["metadata"], "uid": str(uuid.uuid4())}}  # type: ignore[dict-item]


def test_the_apply_handler_patches_the_status_subresource(reconciler: Reconciler) -> None:
    body, patch = _body(), kopf.Patch()
    handle_apply(reconciler, body, {}, patch)
    status = patch["status"]
    assert status["observedGeneration"] == 3
    assert status["subscriptionId"] == body["metadata"]["uid"]  # type: ignore[index]
    assert {c["type"] for c in status["conditions"]} == {"Ready", "Stored", "TriggerReady"}
    handle_remove(reconciler, body)
    assert reconciler.store.all() == []


def test_redis_down_is_a_temporary_error_for_kopf_to_retry() -> None:
    # A port nothing listens on: the store answers ServiceUnavailable.
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)
    reconciler = Reconciler(SubscriptionStore(client, "x"), MemoryCluster(), _settings())
    with pytest.raises(kopf.TemporaryError):
        handle_apply(reconciler, _body(), {}, kopf.Patch())
    with pytest.raises(kopf.TemporaryError):
        handle_remove(reconciler, _body())


def test_the_registry_has_the_handlers(reconciler: Reconciler) -> None:
    assert isinstance(to_registry(reconciler), kopf.OperatorRegistry)


def test_the_command_needs_to_know_what_to_watch(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "--all-namespaces" in capsys.readouterr().err
