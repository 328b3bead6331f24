"""Settings: the environment beats the INI file, which beats the default; errors name the knob."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer
from pydantic import Field

from blazar_events.cli import commands as cli_commands
from blazar_events.cli import main
from blazar_events.errors import ConfigurationError
from blazar_events.settings import (
    CONFIG_FILE_ENV,
    KafkaSettings,
    RedisSettings,
    Section,
    all_env_names,
    all_sections,
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("BLAZAR_EVENTS_"):
            monkeypatch.delenv(name)
    # No /etc/blazar-events file of the machine may leak into these tests.
    monkeypatch.setattr("blazar_events.settings.DEFAULT_CONFIG_FILE", str(tmp_path / "none"))


@pytest.fixture
def ini(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "blazar-events.conf"
    monkeypatch.setenv(CONFIG_FILE_ENV, str(path))
    return path


@pytest.fixture
def counted_section() -> Iterator[type[Section]]:
    """A section with an integer option, removed from the registry afterwards."""

    class Counted(Section, section="testcounted"):
        workers: int = Field(4, description="how many")

    yield Counted
    Section.registry.pop("testcounted", None)


def test_defaults_without_file_or_environment() -> None:
    settings = KafkaSettings.load()
    assert settings.bootstrap_servers == ["127.0.0.1:9092"]
    assert settings.topic == "blazar.events"


def test_ini_file_overrides_the_default(ini: Path) -> None:
    ini.write_text("[kafka]\nbootstrap_servers = k1:9092, k2:9092\ntopic = cloud-a.events\n")
    settings = KafkaSettings.load()
    assert settings.bootstrap_servers == ["k1:9092", "k2:9092"]
    assert settings.topic == "cloud-a.events"


def test_environment_overrides_the_ini_file(ini: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ini.write_text("[kafka]\ntopic = from-file\nrejected_topic = rejected-from-file\n")
    monkeypatch.setenv("BLAZAR_EVENTS_KAFKA_TOPIC", "from-env")
    monkeypatch.setenv("BLAZAR_EVENTS_KAFKA_BOOTSTRAP_SERVERS", "a:1,b:2")
    settings = KafkaSettings.load()
    assert settings.topic == "from-env"
    assert settings.rejected_topic == "rejected-from-file"
    assert settings.bootstrap_servers == ["a:1", "b:2"]


def test_a_bad_value_names_the_variable_and_the_option(
    counted_section: type[Section], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BLAZAR_EVENTS_TESTCOUNTED_WORKERS", "many")
    with pytest.raises(ConfigurationError) as error:
        counted_section.load()
    assert "BLAZAR_EVENTS_TESTCOUNTED_WORKERS" in error.value.message
    assert "[testcounted] workers" in error.value.message


def test_an_unknown_ini_option_is_refused(ini: Path) -> None:
    ini.write_text("[redis]\nurl = redis://cache:6379/0\nkey_prefx = typo\n")
    with pytest.raises(ConfigurationError, match="key_prefx"):
        RedisSettings.load()


def test_a_missing_config_file_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CONFIG_FILE_ENV, str(tmp_path / "absent.conf"))
    with pytest.raises(ConfigurationError, match=r"absent\.conf"):
        KafkaSettings.load()


def test_secrets_do_not_show_in_the_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLAZAR_EVENTS_REDIS_URL", "redis://:hunter2@cache:6379/0")
    settings = RedisSettings.load()
    assert "hunter2" not in repr(settings)
    assert settings.url.get_secret_value() == "redis://:hunter2@cache:6379/0"


def test_config_command_prints_every_section(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config"]) == 0
    sample = capsys.readouterr().out
    for name, cls in all_sections().items():
        assert f"[{name}]" in sample
        for field in cls.model_fields:
            assert f"#{field} = " in sample
            assert f"BLAZAR_EVENTS_{name.upper()}_{field.upper()}" in sample


def test_the_sample_file_loads_back(ini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["config"])
    sample = capsys.readouterr().out
    ini.write_text(sample.replace("#topic = blazar.events", "topic = from-sample"))
    assert KafkaSettings.load().topic == "from-sample"


def test_oslo_config_generator_documents_every_section(tmp_path: Path) -> None:
    output = tmp_path / "generated.conf"
    generator = Path(sys.executable).with_name("oslo-config-generator")
    subprocess.run(
        [str(generator), "--namespace", "blazar-events", "--output-file", str(output)],
        check=True,
        timeout=120,
    )
    generated = output.read_text()
    for name in all_sections():
        assert f"[{name}]" in generated
    assert "#bootstrap_servers = 127.0.0.1:9092" in generated


def test_the_configuration_reference_is_current() -> None:
    from blazar_events.settings import reference_markdown

    page = Path(__file__).parents[2] / "docs" / "configuration.md"
    assert page.read_text(encoding="utf-8") == reference_markdown(), (
        "docs/configuration.md is stale: run "
        "`blazar-events config --markdown > docs/configuration.md`"
    )


def test_dev_null_as_the_config_file_means_defaults_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLAZAR_EVENTS_CONFIG_FILE", "/dev/null")
    assert KafkaSettings.load().topic == "blazar.events"


def test_the_standalone_units_name_real_commands_and_settings() -> None:
    """docs/standalone.md's systemd units: every command and variable they set exists."""
    text = (Path(__file__).parents[2] / "docs" / "standalone.md").read_text()
    commands = re.findall(r"^ExecStart=/opt/blazar-events/bin/blazar-events (\w+)", text, re.M)
    assert sorted(commands) == ["api", "bridge", "broker"]
    assert set(commands) <= set(cli_commands())
    known = all_env_names() | {CONFIG_FILE_ENV}
    names = set(re.findall(r"^Environment=(\w+)=", text, re.M))
    assert names and names - known == set()


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
