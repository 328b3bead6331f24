"""Sections: the environment beats the INI file, which beats the default; errors name the knob."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import Field

from blazar_events.errors import ConfigurationError
from blazar_events.section import CONFIG_FILE_ENV, Section
from blazar_events.settings import KafkaSettings, RedisSettings

pytestmark = pytest.mark.usefixtures("clean_environment")


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


def test_dev_null_as_the_config_file_means_defaults_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLAZAR_EVENTS_CONFIG_FILE", "/dev/null")
    assert KafkaSettings.load().topic == "blazar.events"
