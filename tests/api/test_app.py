"""``create_app``: a production API refuses to start without the key that seals secrets."""

import pytest
from pydantic import SecretStr

from api.app import create_app
from blazar_events.errors import ConfigurationError
from blazar_events.settings import RedisSettings
from blazar_events.signing_keys import Sealer
from tests.api.conftest import settings


def test_a_production_api_refuses_to_start_without_a_sealing_key(redis_url: str) -> None:
    production = settings(auth_strategy="keystone", keystone_auth_url="http://127.0.0.1:1/v3")
    with pytest.raises(ConfigurationError, match="secrets_key_file"):
        create_app(production, redis_settings=RedisSettings(url=SecretStr(redis_url)))
    key = Sealer.generate_key()
    sealed = RedisSettings(url=SecretStr(redis_url), secrets_keys=SecretStr(key))
    app = create_app(settings(), redis_settings=sealed)  # starts; and with keystone too:
    create_app(production, redis_settings=sealed)
    assert app.extensions["blazar_events_api"].store.sealer.enabled
