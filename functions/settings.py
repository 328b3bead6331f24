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
