"""Fixtures and helpers of the core's tests: settings tests where no variable or file of the
machine leaks in, and Blazar's notification fixtures as the translation and redaction tests
read them (independently of the code under test)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from blazar_events.settings import CONFIG_FILE_ENV
from blazar_events.signing_keys import Sealer
from blazar_events.store import SubscriptionStore
from blazar_events.subscription import SigningKeys, Subscription, from_input

FIXTURES = Path(__file__).parent.parent / "fixtures" / "blazar"
MALFORMED: dict[str, Any] = json.loads((FIXTURES / "malformed.json").read_text())
SECRETS = ("b442a580b9504ababf305bf2b4c49512", "gAAAAABfake-token")


def inner(path: Path) -> dict[str, Any]:
    """The oslo message dict of a fixture, read independently of the code under test."""
    body = json.loads(path.read_text())
    return json.loads(body["oslo.message"]) if "oslo.message" in body else body


def malformed_body(name: str) -> bytes:
    value = MALFORMED[name]
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("BLAZAR_EVENTS_"):
            monkeypatch.delenv(name)
    # No /etc/blazar-events file of the machine may leak into these tests.
    monkeypatch.setattr("blazar_events.section.DEFAULT_CONFIG_FILE", str(tmp_path / "none"))


@pytest.fixture
def ini(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "blazar-events.conf"
    monkeypatch.setenv(CONFIG_FILE_ENV, str(path))
    return path


def ids_for_type(store: SubscriptionStore, event_type: str) -> set[str]:
    """Ids in the store's type indexes that receive ``event_type`` (naming it, or every type)."""
    members: set[str] = set()
    for key in (store.keys.index("type", event_type), store.keys.index("type", "*")):
        members.update(raw.decode() for raw in store.client.zrange(key, 0, -1))  # type: ignore[union-attr]
    return members


def set_keys(store: SubscriptionStore, sub_id: str, keys: SigningKeys) -> SigningKeys:
    """Replace a subscription's signing keys through the store's own key change (what a
    rotation does, with keys of the test's choosing)."""
    return store._change_keys(sub_id, lambda _old: keys)


@pytest.fixture
def store(redis_url: str) -> Iterator[SubscriptionStore]:
    """A store on real Redis under a key prefix of its own, with sealed signing secrets and a
    delivery log of 5 entries; its keys are deleted after the test."""
    client = redis.Redis.from_url(redis_url)
    prefix = f"test-{uuid.uuid4().hex}"
    yield SubscriptionStore(client, prefix, delivery_log_size=5, sealer=Sealer())
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        client.delete(key)
    client.close()


def make(project_id: str = "project-a", **body: Any) -> Subscription:
    """A subscription as the API would build it from ``body`` (the sink defaulted)."""
    spec = from_input({"sink": "https://hooks.example.org/", **body})
    return Subscription.from_input(spec, project_id=project_id)
