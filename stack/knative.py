"""What Knative's webhooks need from the API server, and the base of their two services.

Knative's own ``config/core`` manifests (copied out of the Go module cache by
``k8s/tools/install-kube.sh``) are applied minus everything that would need a kubelet
(Deployments, Services, autoscalers): its namespace, CRDs, ConfigMaps, the webhooks' certificate
Secret and their webhook configurations. The webhook runs here as a local process, so its
Service becomes ``type: ExternalName`` to ``localhost`` and every ``clientConfig.service``
that names it gets the process's port. The webhook itself then fills in the certificate, the
caBundle and the rules, as it does on a cluster.
"""

from __future__ import annotations

import ssl
from typing import Any, ClassVar

import httpx
import yaml

from stack.kubeapiserver import (
    KubeApiserver,
    admin_token,
    kubeconfig_path,
    kubectl,
    ssl_context,
)
from stack.kubebuild import binary, ensure_built
from stack.layout import HOST, KUBE_APISERVER_URL, bin_dir
from stack.process import exclusive
from stack.service import Service

KNATIVE_VERSION = "v0.50.0"
STOP_SECONDS = 5.0
WEBHOOK_CONFIGURATIONS = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
KEPT_KINDS = {
    "Namespace",
    "CustomResourceDefinition",
    "ConfigMap",
    "Secret",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
}


def manifests(project: str, namespace: str, service: str, port: int) -> list[dict[str, Any]]:
    """Knative ``project``'s config/core, made to call its webhook on 127.0.0.1:``port``."""
    source = bin_dir() / "knative" / project / "core"
    docs: list[dict[str, Any]] = []
    for path in sorted(source.rglob("*.yaml")):
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    kept = [doc for doc in docs if doc.get("kind") in KEPT_KINDS]
    for doc in kept:
        for config in _client_configs(doc):
            target = config.get("service") or {}
            if target.get("name") == service and target.get("namespace") == namespace:
                target["port"] = port
    external = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": service, "namespace": namespace},
        "spec": {"type": "ExternalName", "externalName": "localhost"},
    }
    return [*kept, external]


def _client_configs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    if doc["kind"].endswith("WebhookConfiguration"):
        return [hook["clientConfig"] for hook in doc.get("webhooks", []) if "clientConfig" in hook]
    webhook = ((doc.get("spec") or {}).get("conversion") or {}).get("webhook") or {}
    return [webhook["clientConfig"]] if "clientConfig" in webhook else []


class KnativeWebhook(Service):
    """One of Knative's admission webhooks as a local process (subclasses name which)."""

    project: ClassVar[str]  # eventing | serving
    namespace: ClassVar[str]
    webhook_name: ClassVar[str]  # its Service's name, as its own code knows it
    validating: ClassVar[str]  # the webhook configuration that shows it is ready
    port: ClassVar[int]
    profiling_port: ClassVar[int]
    start_timeout = 90.0

    def address(self) -> str:
        return f"https://{HOST}:{self.port}"

    def details(self) -> str:
        return f"Knative {self.project} {KNATIVE_VERSION}"

    def install(self) -> None:
        ensure_built()

    def prepare(self) -> None:
        KubeApiserver().start()
        docs = manifests(self.project, self.namespace, self.webhook_name, self.port)
        path = self.directory / "manifests.yaml"
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
        # A configuration left by the previous run still carries the rules this webhook wrote,
        # and with the webhook stopped (failurePolicy Fail) it would refuse our own ConfigMaps:
        # drop them; applied again without rules they intercept nothing until it is back.
        hooks = [
            f"{doc['kind'].lower()}/{doc['metadata']['name']}"
            for doc in docs
            if doc["kind"].endswith("WebhookConfiguration")
        ]
        kubectl("delete", "--ignore-not-found", *hooks, log=self.directory / "apply.log")
        # Server-side: Knative's CRDs are too large for kubectl's last-applied annotation, and
        # the fields the webhook fills in (caBundle, rules) stay its own.
        kubectl(
            "apply", "--server-side", "--force-conflicts", "--field-manager=blazar-events-stack",
            "-f", str(path), log=self.directory / "apply.log",
        )  # fmt: skip

    def command(self) -> tuple[list[str], dict[str, str]]:
        env = {
            "SYSTEM_NAMESPACE": self.namespace,
            "CONFIG_LOGGING_NAME": "config-logging",
            "CONFIG_OBSERVABILITY_NAME": "config-observability",
            "METRICS_DOMAIN": f"knative.dev/{self.project}",
            "WEBHOOK_NAME": self.webhook_name,
            "WEBHOOK_PORT": str(self.port),
            "PROFILING_PORT": str(self.profiling_port),
            "POD_NAME": f"{self.webhook_name}-local",
            "KUBECONFIG": str(kubeconfig_path()),
        }
        return [
            str(binary(f"knative-{self.project}-webhook")),
            f"--kubeconfig={kubeconfig_path()}",
        ], env

    def stop(self) -> bool:
        # On SIGTERM the webhook drains for longer than the usual 30 s wait, for load
        # balancers that no local process has: give it a few seconds, then end it.
        with exclusive(self.lock_file):
            return self.process.stop(timeout=STOP_SECONDS)

    def probe(self) -> None:
        # Answering TLS is not enough: the API server calls it only once the webhook has
        # written its caBundle and rules into its configuration.
        plain = ssl.create_default_context()
        plain.check_hostname = False
        plain.verify_mode = ssl.CERT_NONE
        httpx.get(self.address(), verify=plain, timeout=2.0)
        response = httpx.get(
            f"{KUBE_APISERVER_URL}{WEBHOOK_CONFIGURATIONS}/{self.validating}",
            headers={"Authorization": f"Bearer {admin_token()}"},
            verify=ssl_context(),
            timeout=3.0,
        )
        response.raise_for_status()
        hooks = response.json().get("webhooks") or []
        if not hooks or not all(
            h["clientConfig"].get("caBundle") and h.get("rules") for h in hooks
        ):
            raise ConnectionError(f"{self.validating} has no caBundle or rules yet")
