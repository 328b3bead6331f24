"""The Cluster protocol on a real Kubernetes API server (in-cluster service account).

Plain REST calls with httpx: the operator needs a dozen of them, and a thin client keeps the
boundary small enough to read in one sitting. Outside a Pod (``KUBECONFIG`` set and no
in-cluster account) it reads a kubeconfig with a bearer token instead; the tests run it so
against the stack's real kube-apiserver, with the chart's ServiceAccount's token.
"""

from __future__ import annotations

import base64
import os
import ssl
from pathlib import Path
from typing import Any

import httpx
import yaml

ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
TRIGGERS = "/apis/eventing.knative.dev/v1/namespaces/{namespace}/triggers"
SERVICES = "/apis/serving.knative.dev/v1/namespaces/{namespace}/services"


class KubeApi:
    def __init__(
        self, base_url: str, token: str, ca_file: str | bool | ssl.SSLContext = True
    ) -> None:
        self.http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            verify=ca_file,
            timeout=10.0,
        )

    @classmethod
    def in_cluster(cls) -> KubeApi:
        host = os.environ["KUBERNETES_SERVICE_HOST"]
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        token = (ACCOUNT / "token").read_text().strip()
        return cls(f"https://{host}:{port}", token, str(ACCOUNT / "ca.crt"))

    @classmethod
    def from_environment(cls) -> KubeApi:
        """In a Pod its ServiceAccount; elsewhere the current context of ``$KUBECONFIG``."""
        if "KUBERNETES_SERVICE_HOST" in os.environ or "KUBECONFIG" not in os.environ:
            return cls.in_cluster()
        return cls.from_kubeconfig(Path(os.environ["KUBECONFIG"]))

    @classmethod
    def from_kubeconfig(cls, path: Path) -> KubeApi:
        """A kubeconfig whose current user has a bearer token (no client certificates)."""
        config = yaml.safe_load(path.read_text())
        context = _named(config, "contexts", config["current-context"])["context"]
        cluster = _named(config, "clusters", context["cluster"])["cluster"]
        user = _named(config, "users", context["user"])["user"]
        verify: str | bool | ssl.SSLContext = True
        if "certificate-authority-data" in cluster:
            pem = base64.b64decode(cluster["certificate-authority-data"]).decode()
            verify = ssl.create_default_context(cadata=pem)
        elif "certificate-authority" in cluster:
            verify = ssl.create_default_context(cafile=cluster["certificate-authority"])
        return cls(cluster["server"], user["token"], verify)

    def _get(self, path: str, **params: str) -> dict[str, Any] | None:
        answer = self.http.get(path, params=params)
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        body: dict[str, Any] = answer.json()
        return body

    def namespace_annotation(self, namespace: str, key: str) -> str | None:
        found = self._get(f"/api/v1/namespaces/{namespace}") or {}
        value = found.get("metadata", {}).get("annotations", {}).get(key)
        return str(value) if value is not None else None

    def read_secret(self, namespace: str, name: str, key: str) -> str | None:
        secret = self._get(f"/api/v1/namespaces/{namespace}/secrets/{name}")
        value = (secret or {}).get("data", {}).get(key)
        return base64.b64decode(value).decode() if value is not None else None

    def create_secret(
        self, namespace: str, name: str, data: dict[str, str], owner: dict[str, Any]
    ) -> None:
        meta = owner["metadata"]
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "ownerReferences": [
                    {"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                     "name": meta["name"], "uid": meta["uid"], "controller": True}
                ],
            },
            "stringData": data,
        }  # fmt: skip
        answer = self.http.post(f"/api/v1/namespaces/{namespace}/secrets", json=body)
        if answer.status_code != 409:  # created meanwhile: the reader will find it next time
            answer.raise_for_status()

    def address(self, namespace: str, ref: dict[str, str]) -> str | None:
        ns = ref.get("namespace", namespace)
        if ref.get("apiVersion") == "v1" and ref["kind"] == "Service":
            return f"http://{ref['name']}.{ns}.svc.cluster.local"
        plural = ref["kind"].lower() + "s"  # Service, Broker, Channel: the Addressables in use
        found = self._get(f"/apis/{ref['apiVersion']}/namespaces/{ns}/{plural}/{ref['name']}")
        url = (found or {}).get("status", {}).get("address", {}).get("url")
        return str(url) if url else None

    # --- Knative objects: Triggers and delivery functions --------------------------------------

    def _apply(self, collection: str, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        path = collection.format(namespace=meta["namespace"])
        current = self._get(f"{path}/{meta['name']}")
        if current is None:
            self.http.post(path, json=obj).raise_for_status()
            return
        # Knative's webhooks add defaults; only a difference in what we set is a change.
        if _contains(current.get("spec"), obj["spec"]) and all(
            _contains(current["metadata"].get(k) or {}, meta.get(k) or {})
            for k in ("labels", "annotations")
        ):
            return
        version = current["metadata"]["resourceVersion"]
        wanted = {**obj, "metadata": {**meta, "resourceVersion": version}}
        self.http.put(f"{path}/{meta['name']}", json=wanted).raise_for_status()

    def _ready(self, collection: str, namespace: str, name: str) -> tuple[bool | None, str]:
        found = self._get(f"{collection.format(namespace=namespace)}/{name}")
        if found is None:
            return None, f"{name} does not exist"
        for condition in found.get("status", {}).get("conditions", []):
            if condition.get("type") == "Ready":
                state = {"True": True, "False": False}.get(condition.get("status", ""))
                return state, str(condition.get("message", ""))
        return None, "waiting for Knative to report"

    def _delete(self, collection: str, namespace: str, name: str) -> None:
        answer = self.http.delete(f"{collection.format(namespace=namespace)}/{name}")
        if answer.status_code != 404:
            answer.raise_for_status()

    def _names(self, collection: str, namespace: str, label: str) -> list[str]:
        found = self._get(collection.format(namespace=namespace), labelSelector=label) or {}
        return [item["metadata"]["name"] for item in found.get("items", [])]

    def apply_trigger(self, trigger: dict[str, Any]) -> None:
        self._apply(TRIGGERS, trigger)

    def trigger_ready(self, namespace: str, name: str) -> tuple[bool | None, str]:
        return self._ready(TRIGGERS, namespace, name)

    def delete_trigger(self, namespace: str, name: str) -> None:
        self._delete(TRIGGERS, namespace, name)

    def list_triggers(self, namespace: str, label: str) -> list[str]:
        return self._names(TRIGGERS, namespace, label)

    def get_function(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._get(f"{SERVICES.format(namespace=namespace)}/{name}")

    def apply_function(self, service: dict[str, Any]) -> None:
        self._apply(SERVICES, service)

    def function_ready(self, namespace: str, name: str) -> tuple[bool | None, str]:
        return self._ready(SERVICES, namespace, name)

    def delete_function(self, namespace: str, name: str) -> None:
        self._delete(SERVICES, namespace, name)

    def list_functions(self, namespace: str, label: str) -> list[str]:
        return self._names(SERVICES, namespace, label)


def _named(config: dict[str, Any], section: str, name: str) -> dict[str, Any]:
    for entry in config.get(section) or []:
        if entry.get("name") == name:
            found: dict[str, Any] = entry
            return found
    raise KeyError(f"kubeconfig: no {section} entry named {name!r}")


def _contains(current: Any, wanted: Any) -> bool:
    """Whether ``current`` holds everything ``wanted`` says (extra defaulted fields allowed)."""
    if isinstance(wanted, dict):
        return isinstance(current, dict) and all(
            key in current and _contains(current[key], value) for key, value in wanted.items()
        )
    if isinstance(wanted, list):
        return (
            isinstance(current, list)
            and len(current) == len(wanted)
            and all(_contains(c, w) for c, w in zip(current, wanted, strict=True))
        )
    return bool(current == wanted)
