"""The operator's whole view of the Kubernetes API, as one small Protocol.

The reconcile logic talks to a :class:`Cluster` only, so tests run it against real Redis and
an in-memory cluster. :mod:`k8s.operator.kubeapi` is the implementation on a real API server.
"""

from __future__ import annotations

from typing import Any, Protocol

Object = dict[str, Any]


class Cluster(Protocol):
    def namespace_annotation(self, namespace: str, key: str) -> str | None:
        """An annotation of the Namespace object (None when absent)."""

    def read_secret(self, namespace: str, name: str, key: str) -> str | None:
        """The decoded value of ``key`` in a Secret; None when the Secret or key is absent."""

    def create_secret(self, namespace: str, name: str, data: dict[str, str], owner: Object) -> None:
        """Create a Secret owned by ``owner`` (garbage-collected with it); no-op if present."""

    def address(self, namespace: str, ref: dict[str, str]) -> str | None:
        """The URL of an Addressable (``status.address.url``, or a core Service's DNS name)."""

    def apply_trigger(self, trigger: Object) -> None:
        """Create the Trigger, or replace its spec, labels and annotations."""

    def trigger_ready(self, namespace: str, name: str) -> tuple[bool | None, str]:
        """The Trigger's Ready condition (None: absent or not yet reported) and its message."""

    def delete_trigger(self, namespace: str, name: str) -> None:
        """Delete the Trigger; no-op when it is already gone."""

    def list_triggers(self, namespace: str, label: str) -> list[str]:
        """Names of the Triggers that carry ``label``."""

    def get_function(self, namespace: str, name: str) -> Object | None:
        """A delivery function's Knative Service, or None."""

    def apply_function(self, service: Object) -> None:
        """Create the Knative Service, or replace its spec and labels."""

    def function_ready(self, namespace: str, name: str) -> tuple[bool | None, str]:
        """The Knative Service's Ready condition (None: absent or not yet reported)."""

    def delete_function(self, namespace: str, name: str) -> None:
        """Delete the Knative Service; no-op when it is already gone."""

    def list_functions(self, namespace: str, label: str) -> list[str]:
        """Names of the Knative Services that carry ``label``."""
