"""The shared sections: secrets stay out of reprs; the librdkafka configuration."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer

from blazar_events.settings import KafkaSettings, RedisSettings

pytestmark = pytest.mark.usefixtures("clean_environment")


def test_secrets_do_not_show_in_the_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLAZAR_EVENTS_REDIS_URL", "redis://:hunter2@cache:6379/0")
    settings = RedisSettings.load()
    assert "hunter2" not in repr(settings)
    assert settings.url.get_secret_value() == "redis://:hunter2@cache:6379/0"


def test_librdkafka_config_carries_the_connection_and_security_settings() -> None:
    kafka = KafkaSettings(
        bootstrap_servers=["a:9092", "b:9093"],
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="events",
        sasl_password="s3cret",
        ssl_cafile="/etc/ca.pem",
    )
    config = kafka.librdkafka_config()
    assert config["bootstrap.servers"] == "a:9092,b:9093"
    assert config["security.protocol"] == "sasl_ssl"
    assert (config["sasl.mechanism"], config["sasl.username"], config["sasl.password"]) == (
        "SCRAM-SHA-512",
        "events",
        "s3cret",
    )
    assert config["ssl.ca.location"] == "/etc/ca.pem"


def test_librdkafka_accepts_the_default_config() -> None:
    # librdkafka refuses unknown keys and bad values when a client is built.
    Producer(KafkaSettings().librdkafka_config()).flush(0)
