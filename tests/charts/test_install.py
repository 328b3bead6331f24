"""``helm install`` of the chart into the stack's real kube-apiserver, with Knative's webhooks.

Every documented variant is installed into a namespace of its own; every object it renders
must be accepted server-side (schemas, strict field validation, Knative's defaulting and
validating webhooks, RBAC objects), and ``helm uninstall`` must remove them all. No Pod runs
(no kubelet): what is verified is what the API server and Knative's webhooks accept.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from stack.kubeapiserver import kubeconfig_path
from tests.charts.render import CHART, HELM
from tests.charts.test_chart import VARIANTS, _values
from tests.k8s.kube import Kube

pytestmark = pytest.mark.kube

POSTRENDER = Path(__file__).resolve().parent / "postrender.py"


def _helm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    if not HELM.exists():
        raise AssertionError(f"no helm at {HELM}: run `bash k8s/tools/install-helm.sh`")
    return subprocess.run(
        [str(HELM), f"--kubeconfig={kubeconfig_path()}", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )


def _install(
    tmp: Path, release: str, namespace: str, chosen: dict[str, Any]
) -> tuple[str, list[str]]:
    values = tmp / "values.yaml"
    values.write_text(yaml.safe_dump(chosen))
    # helm runs the post-renderer as a program: a wrapper with this interpreter (and PyYAML).
    wrapper = tmp / "postrender"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{POSTRENDER}" "$@"\n')
    wrapper.chmod(0o755)
    dropped = tmp / "dropped"
    dropped.write_text("")
    args = ["install", release, str(CHART), "--namespace", namespace, "-f", str(values)]
    result = _helm(
        *args, "--post-renderer", str(wrapper), env={"BLAZAR_EVENTS_DROPPED": str(dropped)}
    )
    assert result.returncode == 0, f"helm install failed:\n{result.stderr}"
    manifest = _helm("get", "manifest", release, "--namespace", namespace)
    assert manifest.returncode == 0, manifest.stderr
    return manifest.stdout, dropped.read_text().split()


def _objects(manifest: str) -> list[tuple[str, str, str | None]]:
    """(resource for kubectl, name, namespace or None) of every object helm installed."""
    found = []
    for doc in yaml.safe_load_all(manifest):
        if not doc:
            continue
        group = doc["apiVersion"].split("/")[0] if "/" in doc["apiVersion"] else ""
        resource = f"{doc['kind'].lower()}.{group}" if group else doc["kind"].lower()
        found.append((resource, doc["metadata"]["name"], doc["metadata"].get("namespace")))
    return found


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_helm_install_is_accepted_and_uninstall_removes_it(knative: Kube, variant: str) -> None:
    kube = knative
    namespace = kube.namespace("chart")
    release = "blazar-events"  # one per namespace; the names the docs show
    chosen = _values(variant)
    if chosen.get("operator", {}).get("watchNamespaces"):  # they must exist: fresh ones
        chosen["operator"] = {"watchNamespaces": [kube.namespace("team"), kube.namespace("team")]}
    with tempfile.TemporaryDirectory() as tmp:
        manifest, dropped = _install(Path(tmp), release, namespace, chosen)
    installed = _objects(manifest)
    assert len(installed) > 5
    for resource, name, ns in installed:
        assert kube.get(resource, name, ns or namespace) is not None, f"{resource}/{name}"
    knative = variant != "standalone-broker"
    assert dropped == (["KafkaSource/blazar-events-routing-source"] if knative else [])
    if knative:  # the Broker and the function went through Knative's webhooks
        broker = kube.get("broker.eventing.knative.dev", "blazar-events", namespace)
        assert broker is not None
        function = kube.get("service.serving.knative.dev", "blazar-events-function", namespace)
        assert function is not None

    result = _helm("uninstall", release, "--namespace", namespace, "--wait", "--timeout", "120s")
    assert result.returncode == 0, result.stderr
    left = [
        f"{resource}/{name}"
        for resource, name, ns in installed
        if kube.get(resource, name, ns or namespace) is not None
    ]
    assert left == []


def _allowed(kube: Kube, user: str, verb: str, resource: str, namespace: str = "") -> bool:
    """A SubjectAccessReview: may ``user`` do ``verb`` on ``plural[.group][/subresource]``?"""
    name, _, sub = resource.partition("/")
    plural, _, group = name.partition(".")
    attributes = {"verb": verb, "resource": plural, "group": group, "namespace": namespace}
    if sub:
        attributes["subresource"] = sub
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": user,
            "groups": ["system:serviceaccounts"],
            "resourceAttributes": attributes,
        },
    }
    out = kube.must("create", "-f", "-", "-o", "json", stdin=json.dumps(review))
    return bool(json.loads(out)["status"].get("allowed", False))


def test_the_operator_account_may_do_what_it_needs_and_nothing_more(knative: Kube) -> None:
    kube = knative
    namespace = kube.namespace("rbac")
    tenant = kube.namespace("tenant")
    release = "blazar-events"  # one per namespace; the names the docs show
    with tempfile.TemporaryDirectory() as tmp:
        _install(Path(tmp), release, namespace, _values("knative-default"))
    operator = f"system:serviceaccount:{namespace}:blazar-events-operator"
    must = [
        ("list", "eventsubscriptions.events.blazar.openstack.org", ""),
        ("watch", "eventsubscriptions.events.blazar.openstack.org", ""),
        ("patch", "eventsubscriptions.events.blazar.openstack.org", tenant),
        ("patch", "eventsubscriptions.events.blazar.openstack.org/status", tenant),
        ("update", "eventsubscriptions.events.blazar.openstack.org/finalizers", tenant),
        ("get", "secrets", tenant),
        ("create", "secrets", tenant),
        ("get", "namespaces", ""),
        ("create", "triggers.eventing.knative.dev", namespace),
        ("delete", "triggers.eventing.knative.dev", namespace),
        ("create", "services.serving.knative.dev", namespace),
        ("create", "events", tenant),
    ]
    must_not = [
        ("create", "triggers.eventing.knative.dev", tenant),  # Triggers live in its namespace only
        ("create", "services.serving.knative.dev", tenant),
        ("list", "secrets", tenant),  # reads the Secret it is told about, never lists them
        ("delete", "secrets", tenant),
        ("update", "secrets", tenant),
        ("create", "eventsubscriptions.events.blazar.openstack.org", tenant),
        ("delete", "eventsubscriptions.events.blazar.openstack.org", tenant),
        ("create", "pods", namespace),
        ("create", "deployments.apps", namespace),
        ("update", "namespaces", ""),
        ("create", "rolebindings.rbac.authorization.k8s.io", namespace),
        ("update", "customresourcedefinitions.apiextensions.k8s.io", ""),
    ]
    refused = [case for case in must if not _allowed(kube, operator, *case)]
    granted = [case for case in must_not if _allowed(kube, operator, *case)]
    assert (refused, granted) == ([], [])
    assert _helm("uninstall", release, "--namespace", namespace).returncode == 0
