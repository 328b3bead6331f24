"""Settings: environment variables with one prefix, or an INI file in the oslo.config style.

Each component declares its own section by subclassing :class:`Section`::

    class BridgeSettings(Section, section="bridge"):
        prefetch: int = Field(500, description="AMQP prefetch count")

``BridgeSettings.load()`` then reads, highest priority first:

1. ``BLAZAR_EVENTS_BRIDGE_PREFETCH`` from the environment (12-factor, containers);
2. ``prefetch = ...`` under ``[bridge]`` in the INI file named by
   ``BLAZAR_EVENTS_CONFIG_FILE`` (default ``/etc/blazar-events/blazar-events.conf``);
3. the default in code.

Lists are comma-separated in both places. ``blazar-events config`` prints every section with
its defaults (the sample file), and ``list_opts`` feeds ``oslo-config-generator``
(:mod:`blazar_events.reference`).

This module holds the sections several components share; the machinery (:class:`Section`,
:class:`ServiceSection`, the INI source) is :mod:`blazar_events.section`, whose names are
imported from here as well.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from pydantic import Field, SecretStr

from blazar_events.section import (
    CONFIG_FILE_ENV,
    DEFAULT_CONFIG_FILE,
    ENV_PREFIX,
    CsvList,
    LogLevel,
    OptionalCsvList,
    Port,
    Section,
    ServiceSection,
    config_file,
    env_name,
    raw_option,
)
from blazar_events.triggers import DEFAULT_BROKER, DEFAULT_FUNCTION_URL, DEFAULT_NAMESPACE

# The machinery lives in blazar_events.section; the components import it from here, with
# the shared sections, as before the split.
__all__ = [
    "CONFIG_FILE_ENV",
    "DEFAULT_CONFIG_FILE",
    "ENV_PREFIX",
    "CsvList",
    "EgressSettings",
    "EventSettings",
    "KafkaSettings",
    "LogLevel",
    "OptionalCsvList",
    "Port",
    "RedisSettings",
    "Section",
    "ServiceSection",
    "TriggerSettings",
    "config_file",
    "env_name",
    "raw_option",
]


# --- Core sections: used by more than one component -------------------------------------------


class KafkaSettings(Section, section="kafka"):
    bootstrap_servers: CsvList = Field(
        default_factory=lambda: ["127.0.0.1:9092"], description="Kafka bootstrap servers"
    )
    topic: str = Field("blazar.events", description="Topic of the translated CloudEvents")
    rejected_topic: str = Field(
        "blazar.events.rejected",
        description="Topic for bus messages that cannot be translated, with the reason",
    )
    dlq_topic: str = Field(
        "blazar.events.dlq", description="Topic for deliveries that failed for good"
    )
    state_topic: str = Field(
        "blazar.leases",
        description="Compacted topic (cleanup.policy=compact) of each live lease's latest "
        "event, keyed by lease id, tombstoned on lease.delete; read by snapshot requests",
    )
    security_protocol: str = Field(
        "PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
    )
    sasl_mechanism: str | None = Field(None, description="e.g. PLAIN or SCRAM-SHA-512")
    sasl_username: str | None = Field(None, description="SASL user name")
    sasl_password: SecretStr | None = Field(None, description="SASL password")
    ssl_cafile: str | None = Field(None, description="CA bundle for SSL")

    def librdkafka_config(self) -> dict[str, Any]:
        """The configuration every confluent-kafka (librdkafka) client starts from.

        One home for the connection and security settings; each client adds its own keys
        (``acks``, ``group.id`` ...). librdkafka's own log lines go to this module's logger.
        """
        config: dict[str, Any] = {
            "bootstrap.servers": ",".join(self.bootstrap_servers),
            "security.protocol": self.security_protocol.lower(),
            "logger": logging.getLogger("blazar_events.kafka"),
        }
        if self.sasl_mechanism:
            config["sasl.mechanism"] = self.sasl_mechanism
            config["sasl.username"] = self.sasl_username
            config["sasl.password"] = (
                self.sasl_password.get_secret_value() if self.sasl_password else None
            )
        if self.ssl_cafile:
            config["ssl.ca.location"] = self.ssl_cafile
        return config


class RedisSettings(Section, section="redis"):
    url: SecretStr = Field(
        SecretStr("redis://127.0.0.1:6380/0"),
        description="Redis URL (redis:// or rediss://, may carry a password)",
    )
    key_prefix: str = Field("blazar-events", description="Prefix of every key this product owns")
    secrets_keys: SecretStr | None = Field(
        None,
        description="Fernet keys sealing the signing secrets at rest, comma-separated: the "
        "first seals, every one opens (rotation). Every component reading the store needs "
        "them (docs/api.md, Signing secrets at rest)",
    )
    secrets_key_file: str | None = Field(
        None,
        description="File with Fernet keys, one per line, the sealing one first; read "
        "before secrets_keys (e.g. a mounted Kubernetes Secret)",
    )
    # One timeout policy for every component's client (blazar_events/redis_clients.py).
    connect_timeout: float = Field(
        2.0, gt=0, description="Seconds to open a connection to Redis before the call fails"
    )
    socket_timeout: float = Field(
        5.0,
        gt=1,
        description="Seconds one Redis call may wait for its answer (above the 1 s that the "
        "change-feed followers block for)",
    )
    health_check_interval: int = Field(
        30,
        ge=0,
        description="Seconds a pooled connection may sit idle before it is checked (PING) "
        "before use (0: never)",
    )
    retries: int = Field(
        2,
        ge=0,
        le=10,
        description="Times a call that lost its connection or timed out is retried, after "
        "0.1 s, 0.2 s, ... (at most 1 s); then it fails (the API answers 503)",
    )


class EgressSettings(Section, section="egress"):
    """The SSRF policy of every component that checks or reaches a sink (blazar_events/egress.py).

    Components read it with ``EgressSettings.load_for(their_settings)``, which honours their
    deprecated own option while this one is not set (renames.py has the rule)."""

    allowed_networks: CsvList = Field(
        default_factory=list,
        description="CIDRs a sink may point into although the SSRF policy refuses them "
        "(loopback, private, link-local), e.g. a tenant network 10.0.0.0/8; one policy for "
        "the API, the deliveries and the operator. Replaces [api], [delivery] and [operator] "
        "allowed_networks: while this is not set each component reads its old option (with a "
        "warning, and another if they disagree); once set, the old ones are ignored",
    )

    formerly: ClassVar[dict[str, dict[str, str]]] = {
        "allowed_networks": {
            "api": "allowed_networks",
            "delivery": "allowed_networks",
            "operator": "allowed_networks",
        }
    }


class TriggerSettings(Section, section="trigger"):
    """Where rendered Knative Triggers point: one home for the operator, which creates them,
    and the API, which shows a tenant its Trigger. Components read it with
    ``TriggerSettings.load_for(their_settings)``; their former options still read while these
    are not set (the rule of renames.py)."""

    namespace: str = Field(
        DEFAULT_NAMESPACE,
        description="Namespace of the Broker, the Triggers and the functions (formerly "
        "[operator] namespace and [api] trigger_namespace)",
    )
    broker: str = Field(
        DEFAULT_BROKER,
        description="The Kafka-class Broker Triggers hang on (formerly [operator] broker and "
        "[api] trigger_broker)",
    )
    function_url: str = Field(
        DEFAULT_FUNCTION_URL,
        description="Base URL of the shared delivery function that Triggers call (formerly "
        "[operator] and [api] function_url)",
    )

    formerly: ClassVar[dict[str, dict[str, str]]] = {
        "namespace": {"operator": "namespace", "api": "trigger_namespace"},
        "broker": {"operator": "broker", "api": "trigger_broker"},
        "function_url": {"operator": "function_url", "api": "function_url"},
    }


class EventSettings(Section, section="events"):
    source_prefix: str = Field(
        "/openstack/blazar",
        description="CloudEvent source prefix; the publisher id is appended (set per cloud/region)",
    )
