"""Fixtures for delivery: a real HTTP sink on loopback, sample events, stored subscriptions."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from cloudevents.core.base import BaseCloudEvent

from blazar_events import events
from blazar_events.store import SubscriptionStore
from blazar_events.subscription import SigningKeys, Subscription
from stack.sink import Sink

FIXTURES = Path(__file__).parents[1] / "fixtures" / "blazar"


def to_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def from_fixture(name: str) -> BaseCloudEvent:
    message = events.from_body((FIXTURES / name).read_bytes())
    event = events.to_cloudevent(message)
    assert event is not None
    return event


@pytest.fixture
def sink() -> Iterator[Sink]:
    with Sink() as running:
        yield running


@pytest.fixture
def event() -> BaseCloudEvent:
    return from_fixture("v2-lease.event.start_lease.json")


@pytest.fixture
def secret() -> str:
    return to_secret()


def data_of(body: bytes) -> dict[str, object]:
    value = json.loads(body)
    assert isinstance(value, dict)
    return value


@pytest.fixture
def store(redis_url: str, redis_prefix: str) -> Iterator[SubscriptionStore]:
    """A store under a key prefix of the test's own."""
    client = redis.Redis.from_url(redis_url)
    yield SubscriptionStore(client, redis_prefix)
    client.close()


def to_subscription(store: SubscriptionStore, sink: str, **fields: Any) -> tuple[str, str]:
    """A stored subscription of project p1 to ``sink``: (id, its secret)."""
    keys = SigningKeys.generate()
    sub = Subscription(project_id=fields.pop("project_id", "p1"), sink=sink, **fields)
    store.create(sub, keys)
    return sub.id, keys.current
