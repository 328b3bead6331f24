"""The local stack, as a developer sees it: every service answers where `stack up` says."""

from __future__ import annotations

import subprocess
import sys

from stack.identity import KeystoneAdmin
from stack.registry import NAMES


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


def test_unknown_service_is_a_clear_error() -> None:
    result = _stack("up", "mongodb")
    assert result.returncode == 1
    assert "unknown service 'mongodb'" in result.stderr
    assert "redis, rabbitmq, kafka, keystone" in result.stderr
