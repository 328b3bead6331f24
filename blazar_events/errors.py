"""The one error hierarchy of blazar-events.

Every error the product raises on purpose derives from :class:`BlazarEventsError`.
API-facing errors carry the HTTP status and the name used in Blazar's error body
``{"error_code": ..., "error_name": ..., "error_message": ...}``.
"""

from __future__ import annotations

from typing import Any


def to_error_body(code: int, name: str, message: str) -> dict[str, Any]:
    """Blazar's error body: the one writer of its shape, for every component that answers HTTP."""
    return {"error_code": code, "error_name": name, "error_message": message}


class BlazarEventsError(Exception):
    """Root of every error raised on purpose by blazar-events."""

    code: int = 500
    name: str = "InternalError"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_body(self) -> dict[str, Any]:
        """Blazar's error shape."""
        return to_error_body(self.code, self.name, self.message)


# --- API-facing -----------------------------------------------------------------------------


class InvalidInput(BlazarEventsError, ValueError):
    """The request (or a spec, a filter, a setting) is malformed; the message names the field."""

    code = 400
    name = "InvalidInput"


class InvalidFilter(InvalidInput):
    """A subscription filter uses an unsupported dialect or a malformed expression."""

    name = "InvalidFilter"


class SinkRefused(InvalidInput):
    """The sink URL breaks an egress rule (scheme, credentials, SSRF network policy)."""

    name = "SinkRefused"


class NotAuthorized(BlazarEventsError):
    code = 401
    name = "NotAuthorized"


class PolicyNotAuthorized(BlazarEventsError):
    code = 403
    name = "PolicyNotAuthorized"


class NotFound(BlazarEventsError):
    code = 404
    name = "NotFound"


class MethodNotAllowed(BlazarEventsError):
    code = 405
    name = "MethodNotAllowed"


class NotAcceptable(BlazarEventsError):
    code = 406
    name = "NotAcceptable"


class Conflict(BlazarEventsError):
    code = 409
    name = "Conflict"


class PreconditionFailed(BlazarEventsError):
    """``If-Match``/``version`` does not match the stored version (optimistic concurrency)."""

    code = 412
    name = "PreconditionFailed"


class PayloadTooLarge(BlazarEventsError):
    code = 413
    name = "PayloadTooLarge"


class UnsupportedMediaType(BlazarEventsError):
    code = 415
    name = "UnsupportedMediaType"


class TooManyRequests(BlazarEventsError):
    """A rate limit was hit; ``retry_after`` (seconds) says when to try again."""

    code = 429
    name = "TooManyRequests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


class ServiceUnavailable(BlazarEventsError):
    """A backing service (Redis, Kafka) cannot be reached; retrying later may succeed."""

    code = 503
    name = "ServiceUnavailable"


# --- Pipeline ---------------------------------------------------------------------------------


class NotificationRejected(BlazarEventsError, ValueError):
    """A message from the bus cannot be translated; ``reason`` is a short machine-readable tag."""

    code = 422
    name = "NotificationRejected"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, reason=reason)
        self.reason = reason


class ConfigurationError(BlazarEventsError, ValueError):
    """A setting has an invalid value; the message names the setting."""

    name = "ConfigurationError"


class FilterError(BlazarEventsError):
    """Evaluating a subscription's compiled filter failed in a way CESQL does not define.

    The one exception a compiled filter may raise (a CESQL evaluation error — a missing
    attribute, a failed cast — is not one: the filter simply does not match). The caller
    records it on that subscription and goes on with the others.
    """

    name = "FilterError"
