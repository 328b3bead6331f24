"""Options that moved or were renamed: the old names still read, with a warning naming the new."""

from __future__ import annotations

import ipaddress
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.settings import ApiSettings
from blazar_events import egress, renames
from blazar_events.errors import ConfigurationError
from blazar_events.settings import EgressSettings, Section, TriggerSettings
from bridge.settings import BridgeSettings
from broker.settings import BrokerSettings
from delivery.settings import DeliverySettings
from functions.settings import FunctionSettings
from k8s.settings import OperatorSettings


@pytest.fixture(autouse=True)
def each_test_sees_its_own_warnings(
    clean_environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(renames, "_said", set())


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


COMPONENTS = (ApiSettings, BridgeSettings, BrokerSettings, FunctionSettings, OperatorSettings)


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda cls: cls.section)
def test_every_component_listens_and_logs_with_the_same_four_options(
    component: type[Section], monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"BLAZAR_EVENTS_{component.section.upper()}_"
    monkeypatch.setenv(prefix + "HOST", "::1")
    monkeypatch.setenv(prefix + "PORT", "9999")
    monkeypatch.setenv(prefix + "LOG_LEVEL", "debug")
    monkeypatch.setenv(prefix + "LOG_FORMAT", "json")
    settings: Any = component.load()
    assert (settings.host, settings.port) == ("::1", 9999)
    assert (settings.log_level, settings.log_format) == ("DEBUG", "json")


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda cls: cls.section)
@pytest.mark.parametrize(("option", "value"), [("PORT", "65536"), ("LOG_LEVEL", "LOUD")])
def test_a_bad_listen_or_log_value_is_refused_naming_the_variable(
    component: type[Section], option: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    variable = f"BLAZAR_EVENTS_{component.section.upper()}_{option}"
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable):
        component.load()


@pytest.mark.parametrize(
    ("component", "old", "new"),
    [
        (BridgeSettings, "http_port", "port"),
        (BridgeSettings, "http_host", "host"),
        (OperatorSettings, "health_port", "port"),
    ],
)
def test_a_renamed_listen_option_still_reads_with_a_warning(
    component: type[Section],
    old: str,
    new: str,
    ini: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    value = "10.1.2.3" if new == "host" else "9200"
    ini.write_text(f"[{component.section}]\n{old} = {value}\n")
    assert str(getattr(component.load(), new)) == value
    said = warnings_of(caplog)
    assert f"[{component.section}] {old}" in said and "is deprecated" in said
    assert f"BLAZAR_EVENTS_{component.section.upper()}_{new.upper()}" in said
    # The new name wins wherever it is set, and the old one is said to be ignored.
    other = "10.9.9.9" if new == "host" else "9300"
    monkeypatch.setenv(f"BLAZAR_EVENTS_{component.section.upper()}_{new.upper()}", other)
    assert str(getattr(component.load(), new)) == other
    assert "is deprecated and ignored" in warnings_of(caplog)


def test_the_trigger_target_has_one_home_for_the_api_and_the_operator(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("BLAZAR_EVENTS_TRIGGER_NAMESPACE", "knative-ns")
    monkeypatch.setenv("BLAZAR_EVENTS_TRIGGER_FUNCTION_URL", "http://fn.knative-ns.svc")
    for component in (ApiSettings.load(), OperatorSettings.load()):
        target = TriggerSettings.load_for(component)
        assert (target.namespace, target.broker) == ("knative-ns", "blazar-events")
        assert target.function_url == "http://fn.knative-ns.svc"
    assert warnings_of(caplog) == ""


def test_the_former_trigger_options_still_read(ini: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Each component had its own spelling; both still work until [trigger] is set."""
    ini.write_text("[api]\ntrigger_broker = b1\n\n[operator]\nbroker = b1\nnamespace = ns1\n")
    assert TriggerSettings.load_for(ApiSettings.load()).broker == "b1"
    operator = TriggerSettings.load_for(OperatorSettings.load())
    assert (operator.broker, operator.namespace) == ("b1", "ns1")
    said = warnings_of(caplog)
    assert "[api] trigger_broker (BLAZAR_EVENTS_API_TRIGGER_BROKER) is deprecated" in said
    assert "[trigger] broker (BLAZAR_EVENTS_TRIGGER_BROKER)" in said
    assert "disagree" not in said


NETWORKS = st.lists(
    st.builds(
        lambda address, length: str(
            ipaddress.ip_network(f"{address}/{length % (address.max_prefixlen + 1)}", strict=False)
        ),
        st.ip_addresses(),
        st.integers(0, 128),
    ),
    min_size=1,
    max_size=5,
)


@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=50, deadline=None
)
@given(networks=NETWORKS, old=st.sampled_from([ApiSettings, DeliverySettings, OperatorSettings]))
def test_an_old_name_reads_exactly_as_the_new_one(networks: list[str], old: type[Section]) -> None:
    """Whatever policy a deployment wrote under its old name, the component enforces it."""
    written = ", ".join(networks)
    for variable in (f"BLAZAR_EVENTS_{old.section.upper()}_ALLOWED_NETWORKS",
                     "BLAZAR_EVENTS_EGRESS_ALLOWED_NETWORKS"):  # fmt: skip
        os.environ[variable] = written
        try:
            policy = EgressSettings.load_for(old.load()).allowed_networks
        finally:
            del os.environ[variable]
        assert policy == networks
        assert egress.parse_networks(policy) == egress.parse_networks(networks)
