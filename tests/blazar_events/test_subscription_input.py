"""The subscription body a client sends: defaults, normalised types, and refusals that name the
field."""

from typing import Any

import pytest

from blazar_events.errors import InvalidFilter, InvalidInput, SinkRefused
from blazar_events.subscription import Subscription
from blazar_events.subscription_input import from_input

BASE: dict[str, Any] = {"sink": "https://hooks.example.org/blazar"}


def test_defaults_are_filled_in() -> None:
    spec = from_input(BASE)
    sub = Subscription.from_input(spec, project_id="p1", user_id="u1")
    assert sub.protocol == "HTTP"
    assert sub.protocolsettings.mode == "binary" and sub.protocolsettings.method == "POST"
    assert sub.delivery.retry == 5 and sub.delivery.backoffPolicy == "exponential"
    assert sub.status == "ACTIVE" and sub.version == 1 and sub.owner == "api"
    assert sub.created_at.tzinfo is not None


def test_short_types_are_normalized_and_deduplicated() -> None:
    both = ["lease.event.start_lease", "org.openstack.blazar.lease.event.start_lease"]
    spec = from_input({**BASE, "types": both})
    assert spec.types == ["org.openstack.blazar.lease.event.start_lease"]
    assert spec.warnings() == []


def test_unknown_but_wellformed_type_is_accepted_with_a_warning() -> None:
    spec = from_input({**BASE, "types": ["lease.event.some_new_event"]})
    assert spec.types == ["org.openstack.blazar.lease.event.some_new_event"]
    assert "some_new_event" in spec.warnings()[0]


@pytest.mark.parametrize("bad", ["", "lease event", "lease..create", "lease.*", "x" * 300])
def test_text_that_is_not_a_type_is_refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="types"):
        from_input({**BASE, "types": [bad]})


def test_notify_endpoint_becomes_a_sink() -> None:
    spec = from_input({"notify_endpoint": {"ip_address": "10.0.0.1", "port": 8217}})
    assert spec.sink == "http://10.0.0.1:8217/"
    v6 = from_input({"notify_endpoint": {"ip_address": "2001:db8::5", "port": 80}})
    assert v6.sink == "http://[2001:db8::5]:80/"


def test_sink_and_notify_endpoint_together_or_neither_are_refused() -> None:
    with pytest.raises(InvalidInput, match="either sink or notify_endpoint"):
        from_input({**BASE, "notify_endpoint": {"ip_address": "10.0.0.1", "port": 1}})
    with pytest.raises(InvalidInput, match="sink"):
        from_input({"name": "x"})


def test_unknown_field_is_refused_by_name() -> None:
    with pytest.raises(InvalidInput, match="colour: unknown field"):
        from_input({**BASE, "colour": "red"})


def test_server_managed_fields_are_not_writable() -> None:
    with pytest.raises(InvalidInput, match="id: unknown field"):
        from_input({**BASE, "id": "x"})


def test_bad_filter_keeps_its_own_error() -> None:
    with pytest.raises(InvalidFilter, match="unsupported dialect 'glob'"):
        from_input({**BASE, "filters": [{"glob": {"type": "*"}}]})


@pytest.mark.parametrize(
    ("sink", "rule"),
    [("ftp://x.example/", "scheme"), ("https://u:p@x.example/", "userinfo"), ("http:///x", "host")],
)
def test_sink_syntax_rules_name_the_rule(sink: str, rule: str) -> None:
    with pytest.raises(SinkRefused, match=f"rule={rule}"):
        from_input({"sink": sink})


@pytest.mark.parametrize(
    "header", ["webhook-signature", "Content-Type", "ce-id", "Host", "bad header"]
)
def test_headers_that_would_break_delivery_are_refused(header: str) -> None:
    with pytest.raises(InvalidInput, match=r"protocolsettings\.headers"):
        from_input({**BASE, "protocolsettings": {"headers": {header: "v"}}})


def test_header_values_cannot_inject_lines() -> None:
    with pytest.raises(InvalidInput, match="line break"):
        from_input({**BASE, "protocolsettings": {"headers": {"X-A": "a\r\nX-B: b"}}})


def test_delivery_refuses_zero_or_huge_durations() -> None:
    with pytest.raises(InvalidInput, match=r"delivery\.timeout"):
        from_input({**BASE, "delivery": {"timeout": "PT0S"}})
    with pytest.raises(InvalidInput, match=r"delivery\.backoffDelay"):
        from_input({**BASE, "delivery": {"backoffDelay": "P2D"}})
