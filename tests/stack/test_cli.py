"""`blazar-events stack …` as a developer types it."""

from __future__ import annotations

from tests.stack.test_registry import _stack


def test_env_prints_what_clients_need() -> None:
    result = _stack("env")
    assert result.returncode == 0
    assert "export BLAZAR_EVENTS_REDIS_URL=redis://127.0.0.1:6380/0" in result.stdout
    assert "export OS_AUTH_URL=http://127.0.0.1:5001/v3" in result.stdout
