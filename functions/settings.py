"""Settings of the function service (section ``[function]``, env ``BLAZAR_EVENTS_FUNCTION_*``).

How attempts are made is the delivery library's (``[delivery]``, ``delivery/settings.py``).
"""

from __future__ import annotations

from pydantic import Field

from blazar_events.settings import Section


class FunctionSettings(Section, section="function"):
    host: str = Field("127.0.0.1", description="Address the function's HTTP service listens on")
    port: int = Field(8091, description="Port of the function's HTTP service")
