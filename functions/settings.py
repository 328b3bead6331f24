"""Settings of the function service (section ``[function]``, env ``BLAZAR_EVENTS_FUNCTION_*``).

How attempts are made is the delivery library's (``[delivery]``, ``delivery/settings.py``).
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from blazar_events.settings import Port, ServiceSection


class FunctionSettings(ServiceSection, section="function"):
    port: Port = Field(8091, description="Port of the function's HTTP service")
    token_key: SecretStr | None = Field(
        None,
        description="The key (at least 32 bytes) that the Triggers' capability tokens are made "
        "with: the operator's token_key. Required: without it the function does not start",
    )
    receipt_window: float = Field(
        900.0,
        ge=0,
        le=7 * 24 * 3600,
        description="Seconds a delivered event is remembered per subscription, so that "
        "Knative's retry of an event the sink already took (the function was killed, or answered "
        "after the Trigger's timeout) is answered 202 and not sent again; 0 turns it off",
    )
    receipt_limit: int = Field(
        10_000,
        ge=0,
        le=1_000_000,
        description="Most delivered events remembered per subscription (the oldest go first)",
    )
