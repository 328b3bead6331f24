"""Settings of delivery attempts (section ``[delivery]``, env ``BLAZAR_EVENTS_DELIVERY_*``).

The same options hold wherever an attempt is made: in the standalone broker and in the
function service of the Knative mode.
"""

from __future__ import annotations

from pydantic import Field

from blazar_events.settings import OptionalCsvList, Section


class DeliverySettings(Section, section="delivery"):
    default_timeout: float = Field(
        10.0, description="Seconds one attempt may take when the subscription sets no timeout"
    )
    retry_after_cap: float = Field(
        300.0, description="Longest Retry-After (seconds) honoured; a longer one is cut to this"
    )
    max_connections: int = Field(
        1000,
        ge=1,
        description="Open connections to all sinks together, busy or idle (one pool per "
        "process); an attempt that finds none free waits within its own timeout",
    )
    max_connections_per_sink: int = Field(
        100,
        ge=1,
        description="Open connections to one sink (scheme, host and port), busy or idle: "
        "what one endpoint that hangs or trickles can hold of max_connections",
    )
    max_connections_per_project: int = Field(
        500,
        ge=1,
        description="Attempts of one project in flight at once, over all its subscriptions "
        "and sinks: what one tenant's many slow sinks can hold of max_connections; more "
        "wait in line within their own timeout",
    )
    dns_cache_seconds: int = Field(
        10, description="How long checked DNS answers are reused before resolving again"
    )
    max_response_bytes: int = Field(
        65536,
        ge=0,
        description="Bytes of a sink's response body read (the status stands; the rest is "
        "not read and the connection is closed)",
    )
    max_response_head_bytes: int = Field(
        65536,
        ge=1024,
        description="Bytes of a sink's status line and headers, 1xx interim answers "
        "included; a longer head is a protocol error (retried)",
    )
    allowed_networks: OptionalCsvList = Field(
        None,
        description="Deprecated: set [egress] allowed_networks (read while that is not set)",
    )
