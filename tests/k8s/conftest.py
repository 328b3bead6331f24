"""Fixtures for the tests against the stack's kube-apiserver and Knative's webhooks."""

from __future__ import annotations

import pytest

from tests.conftest import _require
from tests.k8s.kube import Kube


@pytest.fixture(scope="session")
def kube() -> Kube:
    """The stack's API server as an admin, with our CRD in place."""
    _require("kube-apiserver")
    client = Kube()
    client.install_crd()
    return client


@pytest.fixture(scope="session")
def knative(kube: Kube) -> Kube:
    """The same, with Knative Eventing's and Serving's webhooks answering."""
    _require("knative-eventing")
    _require("knative-serving")
    return kube
