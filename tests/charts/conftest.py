"""The chart tests that install into the stack's API server use the k8s tests' fixtures."""

from tests.k8s.conftest import knative, kube

__all__ = ["knative", "kube"]
