"""The stack's etcd answers where `stack status` says, healthy."""

from __future__ import annotations

import httpx

from stack.etcd import Etcd
from stack.layout import ETCD_URL
from tests.conftest import _require


def test_etcd_is_healthy_at_its_address() -> None:
    _require("etcd")
    status = Etcd().status()
    assert status.answers and status.address == ETCD_URL
    assert httpx.get(f"{ETCD_URL}/health", timeout=10).json()["health"] == "true"
