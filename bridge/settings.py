"""Settings of the bridge (``[bridge]`` in the INI file, ``BLAZAR_EVENTS_BRIDGE_*`` in the env).

Kafka's connection and topics come from ``[kafka]`` and the CloudEvent source prefix from
``[events]`` (blazar_events.settings): other components read the same ones.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr

from blazar_events.settings import CsvList, Port, ServiceSection


class BridgeSettings(ServiceSection, section="bridge"):
    renamed: ClassVar[dict[str, str]] = {"http_host": "host", "http_port": "port"}

    port: Port = Field(9101, description="Port of /metrics, /healthz and /readyz")
    transport_url: SecretStr = Field(
        SecretStr("rabbit://guest:guest@127.0.0.1:5673/"),
        description="RabbitMQ URL, as [DEFAULT] transport_url in blazar.conf "
        "(rabbit:// or amqp://; every host listed, comma-separated, is tried in turn)",
    )
    exchange: str = Field(
        "openstack", description="Exchange Blazar notifies on (its control_exchange)"
    )
    exchange_durable: bool = Field(
        False,
        description="Declare the exchange durable; must match Blazar's "
        "[oslo_messaging_rabbit] amqp_durable_queues (or rabbit_quorum_queue)",
    )
    topics: CsvList = Field(
        default_factory=lambda: ["notifications"],
        description="Notification topics, as [oslo_messaging_notifications] topics",
    )
    priorities: CsvList = Field(
        default_factory=lambda: ["info"],
        description="Priorities to bind (routing key <topic>.<priority>); Blazar sends info",
    )
    pool: str = Field(
        "blazar-events",
        description="Queue name: this bridge's own pool, so it never takes Ceilometer's messages",
    )
    queue_durable: bool = Field(
        True, description="Declare the pool queue durable, so it survives a RabbitMQ restart"
    )
    queue_type: Literal["classic", "quorum"] = Field(
        "classic", description="classic, or quorum (replicated; always durable)"
    )
    prefetch: int = Field(1000, ge=1, le=65535, description="AMQP prefetch count")
    batch_size: int = Field(
        500, ge=1, description="Notifications produced to Kafka before one (multiple) ack"
    )
    batch_wait: float = Field(
        0.0,
        ge=0,
        description="Seconds to wait for a batch to fill before producing it; 0 sends at "
        "once what has arrived, and what arrives while Kafka confirms makes the next batch",
    )
    max_body_bytes: int = Field(
        1_000_000,
        ge=1024,
        description="Larger bodies are rejected (Kafka's default record limit is 1 MiB)",
    )
    publisher_prefixes: CsvList = Field(
        default_factory=lambda: ["blazar."],
        description="A notification is Blazar's if its publisher_id starts with one of these...",
    )
    type_prefixes: CsvList = Field(
        default_factory=lambda: ["lease."],
        description="...or its event_type starts with one of these (both empty: keep all)",
    )
    kafka_linger_ms: int = Field(
        0,
        ge=0,
        description="Producer linger (ms); the bridge flushes each batch at once, so 0 "
        "batches as well and adds no wait",
    )
    kafka_compression: Literal["none", "gzip", "snappy", "lz4", "zstd"] = Field(
        "none", description="Producer compression (librdkafka has every codec built in)"
    )
    kafka_delivery_timeout: float = Field(
        30.0, gt=0, description="Seconds the producer retries a record before the bridge resends"
    )
    retry_backoff: float = Field(0.5, gt=0, description="First retry delay (seconds), doubling")
    retry_backoff_max: float = Field(30.0, gt=0, description="Longest retry delay (seconds)")
    log_format: Literal["json", "text"] = Field(
        "json", description="Logs on stderr: json (one object per line) or text"
    )
    http_host: str | None = Field(None, description="Deprecated: set host")
    http_port: Port | None = Field(None, description="Deprecated: set port")
