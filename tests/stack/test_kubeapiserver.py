"""The stack's kube-apiserver: ready for its admin over TLS with the stack's CA, closed to
anyone without the token."""

from __future__ import annotations

import httpx

from stack.kubeapiserver import KubeApiserver, admin_token, kubeconfig_path, ssl_context
from stack.layout import KUBE_APISERVER_URL
from tests.conftest import _require


def test_the_admin_reaches_a_ready_api_server_and_a_stranger_does_not() -> None:
    _require("kube-apiserver")
    assert KubeApiserver().status().answers and kubeconfig_path().is_file()
    with httpx.Client(base_url=KUBE_APISERVER_URL, verify=ssl_context(), timeout=30) as client:
        ready = client.get("/readyz", headers={"Authorization": f"Bearer {admin_token()}"})
        assert (ready.status_code, ready.text) == (200, "ok")
        assert client.get("/api/v1/namespaces").status_code in (401, 403)
        wrong = client.get("/api/v1/namespaces", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
