"""Options that moved or were renamed: the old names still read, with a warning naming the new."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from api.settings import ApiSettings
from blazar_events import renames
from blazar_events.settings import CONFIG_FILE_ENV, EgressSettings
from delivery.settings import DeliverySettings
from k8s.settings import OperatorSettings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("BLAZAR_EVENTS_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr("blazar_events.settings.DEFAULT_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setattr(renames, "_said", set())  # each test sees its own warnings


@pytest.fixture
def ini(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "blazar-events.conf"
    monkeypatch.setenv(CONFIG_FILE_ENV, str(path))
    return path


def warnings_of(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_the_egress_section_is_the_policy_of_every_component(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("BLAZAR_EVENTS_EGRESS_ALLOWED_NETWORKS", "10.0.0.0/8, 192.168.0.0/16")
    for component in (ApiSettings.load(), DeliverySettings.load(), OperatorSettings.load()):
        policy = EgressSettings.load_for(component)
        assert policy.allowed_networks == ["10.0.0.0/8", "192.168.0.0/16"]
    assert warnings_of(caplog) == ""


def test_an_old_option_still_reads_with_a_warning_naming_the_new_one(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("BLAZAR_EVENTS_API_ALLOWED_NETWORKS", "10.0.0.0/8")
    assert EgressSettings.load_for(ApiSettings.load()).allowed_networks == ["10.0.0.0/8"]
    said = warnings_of(caplog)
    assert "[api] allowed_networks (BLAZAR_EVENTS_API_ALLOWED_NETWORKS) is deprecated" in said
    assert "[egress] allowed_networks (BLAZAR_EVENTS_EGRESS_ALLOWED_NETWORKS)" in said


def test_the_new_option_wins_and_the_old_one_is_said_to_be_ignored(
    ini: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ini.write_text("[delivery]\nallowed_networks = 172.16.0.0/12\n")
    monkeypatch.setenv("BLAZAR_EVENTS_EGRESS_ALLOWED_NETWORKS", "10.0.0.0/8")
    assert EgressSettings.load_for(DeliverySettings.load()).allowed_networks == ["10.0.0.0/8"]
    assert "[delivery] allowed_networks" in warnings_of(caplog)
    assert "is deprecated and ignored" in warnings_of(caplog)


def test_old_options_that_disagree_are_named_and_each_component_keeps_its_own(
    ini: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One file for the API and the broker (docs/standalone.md) with two policies in it."""
    ini.write_text(
        "[api]\nallowed_networks = 10.0.0.0/8\n\n[delivery]\nallowed_networks = 127.0.0.0/8\n"
    )
    assert EgressSettings.load_for(ApiSettings.load()).allowed_networks == ["10.0.0.0/8"]
    assert EgressSettings.load_for(DeliverySettings.load()).allowed_networks == ["127.0.0.0/8"]
    # The operator had none of its own: it still has none.
    assert EgressSettings.load_for(OperatorSettings.load()).allowed_networks == []
    said = warnings_of(caplog)
    assert "deprecated options disagree" in said
    assert "10.0.0.0/8" in said and "127.0.0.0/8" in said


def test_old_options_that_agree_raise_no_disagreement(
    ini: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ini.write_text(
        "[api]\nallowed_networks = 10.0.0.0/8\n\n[operator]\nallowed_networks=10.0.0.0/8\n"
    )
    assert EgressSettings.load_for(OperatorSettings.load()).allowed_networks == ["10.0.0.0/8"]
    assert "disagree" not in warnings_of(caplog)


def test_an_empty_old_variable_is_not_a_policy(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """What an older chart writes for an empty list."""
    monkeypatch.setenv("BLAZAR_EVENTS_OPERATOR_ALLOWED_NETWORKS", "")
    assert EgressSettings.load_for(OperatorSettings.load()).allowed_networks == []
    assert warnings_of(caplog) == ""


def test_a_warning_is_logged_once_per_process(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("BLAZAR_EVENTS_API_ALLOWED_NETWORKS", "10.0.0.0/8")
    for _ in range(3):
        EgressSettings.load_for(ApiSettings.load())
    assert len(caplog.records) == 1
