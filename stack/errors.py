"""The stack's one error: a local service cannot be installed or started."""

from __future__ import annotations

from blazar_events.errors import BlazarEventsError


class StackError(BlazarEventsError):
    """A local development service (``blazar-events stack``) cannot be installed or started."""

    name = "StackError"
