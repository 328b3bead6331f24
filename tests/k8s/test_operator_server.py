"""The operator as a process against the stack's real API server, Knative's webhook and Redis.

It runs with the chart's ServiceAccount's token (not the admin's), so every call it makes is
judged by the RBAC the chart installs; its Triggers go through Knative Eventing's webhook.
No Knative controller runs, so a Trigger never becomes Ready: the Stored condition and the
Trigger object are what a user sees here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from blazar_events.errors import NotFound
from blazar_events.signing_keys import SigningKeys
from blazar_events.store import SubscriptionStore
from blazar_events.subscription import Subscription, SubscriptionInput
from blazar_events.triggers import DELIVER_ROUTE, to_token, trigger_name
from stack.kubeapiserver import ca_file
from stack.layout import KUBE_APISERVER_URL
from tests.charts.render import REQUIRED
from tests.charts.test_install import _helm, _install
from tests.conftest import free_port
from tests.k8s.kube import Kube

pytestmark = pytest.mark.kube

PROJECT = "proj-tenant"
TRIGGER = "trigger.eventing.knative.dev"
EVSUB = "eventsubscription.events.blazar.openstack.org"
# The key of the Triggers' capability tokens (the chart's Secret gives it to the operator).
TOKEN_KEY = "operator-test-token-key-of-32-bytes-at-least"


def subscriber_path(sub_id: str) -> str:
    """The function's path for one subscription, with the token only the key can make."""
    return f"/subscriptions/{sub_id}?token={to_token(TOKEN_KEY.encode(), sub_id, DELIVER_ROUTE)}"


def _wait(what: str, check: Callable[[], Any], timeout: float = 90.0) -> Any:
    """``check()``'s first truthy answer; fail after ``timeout`` (a generous bound)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


class Operator:
    """The operator process (restartable) and what a test looks at."""

    def __init__(
        self, kube: Kube, release_ns: str, tenant: str, store: SubscriptionStore, log: Path
    ) -> None:
        self.kube, self.release_ns, self.tenant, self.store = kube, release_ns, tenant, store
        self.log, self.env = log, dict(os.environ)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "blazar_events.cli", "operator", "--namespace", self.tenant],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def status(self, name: str) -> dict[str, Any]:
        found = self.kube.get(EVSUB, name, self.tenant) or {}
        status: dict[str, Any] = found.get("status") or {}
        return status

    def condition(self, name: str, kind: str) -> dict[str, Any] | None:
        for condition in self.status(name).get("conditions", []):
            if condition["type"] == kind:
                found: dict[str, Any] = condition
                return found
        return None

    def trigger(self, uid: str) -> dict[str, Any] | None:
        return self.kube.get(TRIGGER, trigger_name(uid), self.release_ns)


@pytest.fixture(scope="module")
def operator(kube: Kube, redis_url: str) -> Iterator[Operator]:
    release_ns = kube.namespace("operator")
    tenant = kube.namespace("tenant")
    kube.must("annotate", "namespace", tenant, f"events.blazar.openstack.org/project-id={PROJECT}")
    release = "blazar-events"  # one per namespace; the names the docs show
    prefix = f"blazar-events-test-{uuid.uuid4().hex[:12]}"
    client = redis.Redis.from_url(redis_url)
    with tempfile.TemporaryDirectory() as tmp:
        _install(Path(tmp), release, release_ns, REQUIRED)
        token = kube.must(
            "create", "token", "blazar-events-operator", "-n", release_ns, "--duration=2h"
        ).strip()
        kubeconfig = Path(tmp) / "operator.kubeconfig"
        kubeconfig.write_text(yaml.safe_dump(_kubeconfig(token)))
        running = Operator(
            kube, release_ns, tenant, SubscriptionStore(client, prefix), Path(tmp) / "operator.log"
        )
        running.env.update(
            {
                "KUBECONFIG": str(kubeconfig),
                "BLAZAR_EVENTS_REDIS_URL": redis_url,
                "BLAZAR_EVENTS_REDIS_KEY_PREFIX": prefix,
                "BLAZAR_EVENTS_TRIGGER_NAMESPACE": release_ns,
                "BLAZAR_EVENTS_OPERATOR_PORT": str(free_port()),
                # Knative mode: the key of the Triggers' capability tokens, as the chart's
                # Secret gives it (the operator refuses to start without one).
                "BLAZAR_EVENTS_OPERATOR_TOKEN_KEY": TOKEN_KEY,
            }
        )
        running.env.pop("KUBERNETES_SERVICE_HOST", None)
        running.start()
        try:
            yield running
        finally:
            running.stop()
            sys.stderr.write(running.log.read_text()[-4000:])
            _helm("uninstall", release, "--namespace", release_ns)
    for key in client.scan_iter(match=f"{prefix}*", count=500):
        client.delete(key)
    client.close()


def _kubeconfig(token: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "c",
                "cluster": {"server": KUBE_APISERVER_URL, "certificate-authority": str(ca_file())},
            }
        ],
        "users": [{"name": "operator", "user": {"token": token}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "operator"}}],
        "current-context": "c",
    }


def _subscription(name: str, **spec: Any) -> dict[str, Any]:
    body = {"sink": "https://hooks.example.org/blazar", "types": ["lease.event.start_lease"]}
    return {
        "apiVersion": "events.blazar.openstack.org/v1alpha1",
        "kind": "EventSubscription",
        "metadata": {"name": name},
        "spec": {**body, **spec},
    }


def test_a_subscription_is_stored_routed_updated_and_removed(operator: Operator) -> None:
    kube, tenant = operator.kube, operator.tenant
    assert kube.apply(_subscription("lease-start"), namespace=tenant).ok
    stored = _wait("the Stored condition", lambda: operator.condition("lease-start", "Stored"))
    assert stored["status"] == "True"
    status = operator.status("lease-start")
    resource = kube.get(EVSUB, "lease-start", tenant)
    assert resource is not None
    uid = resource["metadata"]["uid"]
    assert status["subscriptionId"] == uid
    assert status["observedGeneration"] == resource["metadata"]["generation"]
    sub = operator.store.get(uid)
    assert sub.project_id == PROJECT and sub.owner == "k8s"
    trigger = _wait("the Trigger", lambda: operator.trigger(uid))
    assert trigger["spec"]["subscriber"]["uri"].endswith(subscriber_path(uid))
    # Printer columns: kubectl shows the sink and the types.
    table = kube.must("get", EVSUB, "lease-start", "-n", tenant)
    assert "https://hooks.example.org/blazar" in table and "Ready" in table.splitlines()[0].title()

    changed = _subscription("lease-start", types=["lease.event.end_lease"])
    assert kube.apply(changed, namespace=tenant).ok
    _wait(
        "the Trigger to follow the edit",
        lambda: "end_lease" in json.dumps((operator.trigger(uid) or {}).get("spec", {})),
    )
    _wait(
        "observedGeneration 2",
        lambda: operator.status("lease-start").get("observedGeneration") == 2,
    )

    kube.must("delete", EVSUB, "lease-start", "-n", tenant, "--wait=true", "--timeout=90s")
    assert kube.get(EVSUB, "lease-start", tenant) is None  # the finalizer was released
    assert operator.trigger(uid) is None
    with pytest.raises(NotFound):
        operator.store.get(uid)


def test_a_tenant_naming_another_project_is_refused_in_its_status(operator: Operator) -> None:
    kube, tenant = operator.kube, operator.tenant
    assert kube.apply(_subscription("elsewhere", projectId="someone-else"), namespace=tenant).ok
    ready = _wait(
        "Ready=False",
        lambda: (c := operator.condition("elsewhere", "Ready")) and c["status"] == "False" and c,
    )
    assert ready["reason"] == "PolicyNotAuthorized"
    assert "only admin namespaces subscribe to other projects" in ready["message"]
    uid = (kube.get(EVSUB, "elsewhere", tenant) or {})["metadata"]["uid"]
    with pytest.raises(NotFound):
        operator.store.get(uid)
    assert operator.trigger(uid) is None
    kube.must("delete", EVSUB, "elsewhere", "-n", tenant, "--wait=true", "--timeout=90s")


def test_an_api_created_subscription_gets_a_trigger_and_loses_it_on_delete(
    operator: Operator,
) -> None:
    body = SubscriptionInput.model_validate({"sink": "https://hooks.example.org/api"})
    sub = Subscription.from_input(body, project_id=PROJECT, owner="api")
    operator.store.create(sub, SigningKeys.generate())
    trigger = _wait("the API subscription's Trigger", lambda: operator.trigger(sub.id))
    assert trigger["spec"]["subscriber"]["uri"].endswith(subscriber_path(sub.id))
    operator.store.delete(sub.id)
    # The change feed, or at the latest the next full pass (resync_seconds, 60 s by default).
    _wait("the Trigger to go", lambda: operator.trigger(sub.id) is None, timeout=180.0)


def test_a_sigkill_of_the_operator_leaves_no_drift(operator: Operator) -> None:
    kube, tenant = operator.kube, operator.tenant
    assert kube.apply(_subscription("before-kill"), namespace=tenant).ok
    _wait("before-kill stored", lambda: operator.condition("before-kill", "Stored"))
    before = (kube.get(EVSUB, "before-kill", tenant) or {})["metadata"]["uid"]
    operator.kill()
    # While it is dead: one resource is deleted (its finalizer holds it), one is created.
    kube.must("delete", EVSUB, "before-kill", "-n", tenant, "--wait=false")
    assert kube.apply(_subscription("while-dead"), namespace=tenant).ok
    operator.start()
    _wait("the deleted resource to go", lambda: kube.get(EVSUB, "before-kill", tenant) is None)
    assert operator.trigger(before) is None
    with pytest.raises(NotFound):
        operator.store.get(before)
    stored = _wait("while-dead stored", lambda: operator.condition("while-dead", "Stored"))
    assert stored["status"] == "True"
    after = (kube.get(EVSUB, "while-dead", tenant) or {})["metadata"]["uid"]
    assert operator.store.get(after).owner == "k8s"
    assert _wait("its Trigger", lambda: operator.trigger(after)) is not None
