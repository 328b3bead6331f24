"""``blazar-events secrets``: a new operator key, and resealing every stored secret."""

from __future__ import annotations

import pytest
import redis

from api import secrets
from blazar_events.signing_keys import Sealer
from blazar_events.store import SubscriptionStore
from blazar_events.subscription import SigningKeys, Subscription


def test_generate_key_prints_a_key_the_sealer_takes(capsys: pytest.CaptureFixture[str]) -> None:
    assert secrets.main(["generate-key"]) == 0
    key = capsys.readouterr().out.strip()
    assert Sealer([key]).enabled


def test_reseal_moves_every_secret_to_the_first_key(
    redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_key, new_key = Sealer.generate_key(), Sealer.generate_key()
    client = redis.Redis.from_url(redis_url)
    before = SubscriptionStore(client, redis_prefix, sealer=Sealer([old_key]))
    subs = [Subscription(project_id="p", sink="https://h.example/") for _ in range(3)]
    keys = [SigningKeys.generate() for _ in subs]
    before.create_many(list(zip(subs, keys, strict=True)))
    monkeypatch.setenv("BLAZAR_EVENTS_REDIS_URL", redis_url)
    monkeypatch.setenv("BLAZAR_EVENTS_REDIS_KEY_PREFIX", redis_prefix)
    monkeypatch.setenv("BLAZAR_EVENTS_REDIS_SECRETS_KEYS", f"{new_key},{old_key}")
    assert secrets.main(["reseal"]) == 0
    only_new = SubscriptionStore(client, redis_prefix, sealer=Sealer([new_key]))
    assert [only_new.get_keys(sub.id) for sub in subs] == keys
    client.close()
