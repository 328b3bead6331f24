"""An in-memory Kubernetes for the operator's Cluster protocol: the stand-in for the API server."""

from __future__ import annotations

import copy
from typing import Any


class MemoryCluster:
    def __init__(self) -> None:
        self.secrets: dict[tuple[str, str], dict[str, str]] = {}
        self.secret_owners: dict[tuple[str, str], str] = {}
        self.addresses: dict[tuple[str, str, str], str] = {}  # (namespace, kind, name) -> url
        self.triggers: dict[tuple[str, str], dict[str, Any]] = {}
        self.ready: dict[tuple[str, str], bool] = {}  # what Knative would report
        self.namespace_annotations: dict[str, dict[str, str]] = {}
        self.functions: dict[tuple[str, str], dict[str, Any]] = {}
        self.functions_ready: dict[tuple[str, str], bool] = {}

    def namespace_annotation(self, namespace: str, key: str) -> str | None:
        return self.namespace_annotations.get(namespace, {}).get(key)

    def read_secret(self, namespace: str, name: str, key: str) -> str | None:
        return self.secrets.get((namespace, name), {}).get(key)

    def create_secret(
        self, namespace: str, name: str, data: dict[str, str], owner: dict[str, Any]
    ) -> None:
        if (namespace, name) not in self.secrets:
            self.secrets[(namespace, name)] = dict(data)
            self.secret_owners[(namespace, name)] = owner["metadata"]["uid"]

    def address(self, namespace: str, ref: dict[str, str]) -> str | None:
        return self.addresses.get((ref.get("namespace", namespace), ref["kind"], ref["name"]))

    def apply_trigger(self, trigger: dict[str, Any]) -> None:
        meta = trigger["metadata"]
        self.triggers[(meta["namespace"], meta["name"])] = copy.deepcopy(trigger)

    def trigger_ready(self, namespace: str, name: str) -> tuple[bool | None, str]:
        if (namespace, name) not in self.triggers:
            return None, "the Trigger does not exist"
        ready = self.ready.get((namespace, name))
        messages = {None: "waiting for Knative", True: "", False: "subscriber unreachable"}
        return ready, messages[ready]

    def delete_trigger(self, namespace: str, name: str) -> None:
        self.triggers.pop((namespace, name), None)

    def list_triggers(self, namespace: str, label: str) -> list[str]:
        return [
            name
            for (ns, name), trigger in self.triggers.items()
            if ns == namespace and label in trigger["metadata"].get("labels", {})
        ]

    def get_function(self, namespace: str, name: str) -> dict[str, Any] | None:
        found = self.functions.get((namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def apply_function(self, service: dict[str, Any]) -> None:
        meta = service["metadata"]
        self.functions[(meta["namespace"], meta["name"])] = copy.deepcopy(service)

    def function_ready(self, namespace: str, name: str) -> tuple[bool | None, str]:
        if (namespace, name) not in self.functions:
            return None, f"{name} does not exist"
        return self.functions_ready.get((namespace, name)), ""

    def delete_function(self, namespace: str, name: str) -> None:
        self.functions.pop((namespace, name), None)

    def list_functions(self, namespace: str, label: str) -> list[str]:
        return [
            name
            for (ns, name), service in self.functions.items()
            if ns == namespace and label in service["metadata"].get("labels", {})
        ]
