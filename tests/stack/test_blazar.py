"""The stack's real Blazar, as its tenant and the `openstack` client find it."""

from __future__ import annotations

import json
import re
import subprocess

import httpx

from stack import blazar_setup, rabbitmq
from stack.identity import Account
from stack.layout import BLAZAR_URL
from stack.leases import Leases
from tests.conftest import _require


def tenant() -> Account:
    _require("blazar-api")
    return blazar_setup.demo_account()


def test_the_tenant_lists_its_leases_and_a_stranger_is_refused() -> None:
    leases = Leases(tenant())
    try:
        assert leases.client.get("/leases").status_code == 200
    finally:
        leases.close()
    anonymous = httpx.get(f"{BLAZAR_URL}/v1/leases", headers={"Accept": "application/json"})
    assert anonymous.status_code == 401


def test_the_notification_queues_nobody_reads_are_capped() -> None:
    _require("rabbitmq")
    listed = subprocess.run(
        [rabbitmq.CTL, "-n", rabbitmq.NODE_NAME, "list_policies", "--formatter", "json"],
        capture_output=True, text=True, timeout=60, check=True,
        env={"HOME": str(rabbitmq.RabbitMQ().directory / "home"), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    policies = {p["name"]: p for p in json.loads(listed.stdout)}
    policy = policies["notifications-nobody-reads"]
    assert json.loads(policy["definition"])["max-length"] == 10000
    assert re.match(policy["pattern"], "notifications.info")
    assert not re.match(policy["pattern"], "blazar-events")  # the bridge's queue is never capped
