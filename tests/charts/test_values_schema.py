"""values.schema.json: each rule makes `helm template` refuse a wrong value, saying where."""

from __future__ import annotations

from typing import Any

import pytest

from tests.charts.render import REQUIRED, merged, template

# case -> (values on top of REQUIRED, or a function of REQUIRED; what helm's message names)
BAD: dict[str, tuple[dict[str, Any], str]] = {
    "noauth without the acknowledgement": (
        {"api": {"auth": {"strategy": "noauth"}}},
        "/api/auth/iUnderstandNoauthIsInsecure",
    ),
    "noauth with the acknowledgement false": (
        {"api": {"auth": {"strategy": "noauth", "iUnderstandNoauthIsInsecure": False}}},
        "/api/auth/iUnderstandNoauthIsInsecure",
    ),
    "unknown auth strategy": ({"api": {"auth": {"strategy": "basic"}}}, "/api/auth/strategy"),
    "keystone without a URL": (
        {"api": {"auth": {"keystone": {"authUrl": ""}}}},
        "/api/auth/keystone/authUrl",
    ),
    "keystone URL that is no URL": (
        {"api": {"auth": {"keystone": {"authUrl": "keystone:5000"}}}},
        "/api/auth/keystone/authUrl",
    ),
    "keystone without the password Secret": (
        {"api": {"auth": {"keystone": {"existingSecret": ""}}}},
        "/api/auth/keystone/existingSecret",
    ),
    "no Kafka bootstrap server": ({"kafka": {"bootstrapServers": []}}, "/kafka/bootstrapServers"),
    "bootstrap server without a port": (
        {"kafka": {"bootstrapServers": ["kafka"]}},
        "/kafka/bootstrapServers/0",
    ),
    "unknown Kafka security protocol": (
        {"kafka": {"securityProtocol": "TLS"}},
        "/kafka/securityProtocol",
    ),
    "SASL mechanism without its Secret": (
        {"kafka": {"securityProtocol": "SASL_SSL", "sasl": {"mechanism": "PLAIN"}}},
        "/kafka/sasl/existingSecret",
    ),
    "SASL mechanism on a PLAINTEXT protocol": (
        {"kafka": {"sasl": {"mechanism": "PLAIN", "existingSecret": "k"}}},
        "/kafka/securityProtocol",
    ),
    "unknown SASL mechanism": (
        {"kafka": {"securityProtocol": "SASL_SSL", "sasl": {"mechanism": "GSSAPI"}}},
        "/kafka/sasl/mechanism",
    ),
    "no Redis Secret": ({"redis": {"existingSecret": ""}}, "/redis/existingSecret"),
    "Redis URL in plain values": (
        {"redis": {"url": "redis://:secret@redis:6379/0"}},
        "'url' not allowed",
    ),
    "bridge without the bus Secret": (
        {"openstack": {"transportSecret": ""}},
        "/openstack/transportSecret",
    ),
    "Secret name that is no name": (
        {"redis": {"existingSecret": "Redis Secret"}},
        "/redis/existingSecret",
    ),
    "zero replicas": ({"api": {"replicas": 0}}, "/api/replicas"),
    "allowed network that is no CIDR": (
        {"function": {"allowedNetworks": ["10.0.0.0"]}},
        "/function/allowedNetworks/0",
    ),
    "writable root filesystem": (
        {"securityContext": {"readOnlyRootFilesystem": False}},
        "/securityContext/readOnlyRootFilesystem",
    ),
    "root user": ({"securityContext": {"runAsNonRoot": False}}, "/securityContext/runAsNonRoot"),
    "privilege escalation": (
        {"securityContext": {"allowPrivilegeEscalation": True}},
        "/securityContext/allowPrivilegeEscalation",
    ),
    "pod running as root": (
        {"podSecurityContext": {"runAsNonRoot": False}},
        "/podSecurityContext/runAsNonRoot",
    ),
    "broker class that is not Kafka": (
        {"knative": {"broker": {"class": "MTChannelBasedBroker"}}},
        "/knative/broker/class",
    ),
    "unknown initial offset": (
        {"knative": {"kafkaSource": {"initialOffset": "newest"}}},
        "/knative/kafkaSource/initialOffset",
    ),
    "watch namespace that is no name": (
        {"operator": {"watchNamespaces": ["Team A"]}},
        "/operator/watchNamespaces/0",
    ),
    "admin namespace that is no name": (
        {"operator": {"adminNamespaces": ["ops team"]}},
        "/operator/adminNamespaces/0",
    ),
    "misspelt key": ({"bridge": {"replica": 3}}, "'replica' not allowed"),
    "unknown top-level key": ({"apiServer": {}}, "'apiServer' not allowed"),
    "source prefix not a path": ({"events": {"sourcePrefix": "openstack"}}, "/events/sourcePrefix"),
    "bad image pull policy": ({"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy"),
    "bad disruption budget": (
        {"podDisruptionBudget": {"maxUnavailable": "half"}},
        "/podDisruptionBudget/maxUnavailable",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_helm_refuses(case: str) -> None:
    extra, where = BAD[case]
    result = template(merged(REQUIRED, extra))
    assert result.returncode != 0, f"{case}: rendered"
    assert "don't meet the specifications of the schema" in result.stderr, result.stderr
    assert where in result.stderr, result.stderr


def test_the_documented_minimum_renders() -> None:
    assert template(REQUIRED).returncode == 0
