"""The local stack, as a developer sees it: every service answers where `stack up` says."""

from __future__ import annotations

import subprocess
import sys

import httpx
import redis

from stack.kafka import list_topics
from stack.keystone import KeystoneAdmin
from stack.services import NAMES
from tests.conftest import StackControl


def _stack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "blazar_events.cli", "stack", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_status_reports_every_service_answering(
    redis_url: str, amqp_url: str, kafka_bootstrap: str, keystone: KeystoneAdmin
) -> None:
    result = _stack("status")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(NAMES)
    for line in lines:
        assert line.split()[1] in {"running", "external"}, line
    assert "127.0.0.1:9092" in result.stdout
    assert "redis://127.0.0.1:6380/0" in result.stdout


def test_up_when_already_up_changes_nothing(redis_url: str, kafka_bootstrap: str) -> None:
    before = _stack("status", "redis", "kafka").stdout
    result = _stack("up", "redis", "kafka")
    assert result.returncode == 0, result.stderr
    assert _stack("status", "redis", "kafka").stdout == before


def test_product_topics_exist(kafka_bootstrap: str) -> None:
    topics = list_topics(kafka_bootstrap)
    assert {"blazar.events", "blazar.events.rejected", "blazar.events.dlq"} <= set(topics)
    assert topics["blazar.events"] == 6


def test_redis_keeps_its_data_across_a_restart(
    redis_url: str, redis_prefix: str, stack: StackControl
) -> None:
    client = redis.Redis.from_url(redis_url)
    client.set(f"{redis_prefix}:kept", "yes")
    stack.restart("redis")
    client = redis.Redis.from_url(redis_url)
    assert client.get(f"{redis_prefix}:kept") == b"yes"


def test_keystone_admin_token_validates(keystone: KeystoneAdmin) -> None:
    token = keystone.token()
    response = httpx.get(
        f"{keystone.auth_url}/auth/tokens",
        headers={"X-Auth-Token": token, "X-Subject-Token": token},
        timeout=10,
    )
    assert response.status_code == 200
    body = response.json()["token"]
    assert body["user"]["name"] == keystone.username
    assert body["project"]["name"] == keystone.project_name
    assert "admin" in {role["name"] for role in body["roles"]}
    assert any(entry["type"] == "identity" for entry in body["catalog"])


def test_env_prints_what_clients_need() -> None:
    result = _stack("env")
    assert result.returncode == 0
    assert "export BLAZAR_EVENTS_REDIS_URL=redis://127.0.0.1:6380/0" in result.stdout
    assert "export OS_AUTH_URL=http://127.0.0.1:5001/v3" in result.stdout


def test_unknown_service_is_a_clear_error() -> None:
    result = _stack("up", "mongodb")
    assert result.returncode == 1
    assert "unknown service 'mongodb'" in result.stderr
    assert "redis, rabbitmq, kafka, keystone" in result.stderr
