"""Exceptions of the client: one root, and an HTTP error that carries Blazar's error body."""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """Root of every error this library raises."""


class InvalidArgument(ClientError, ValueError):
    """A value the client refuses before sending anything (an empty or unencodable ID)."""


class EndpointNotFound(ClientError):
    """The service catalog has no endpoint of the service type asked for."""


class HttpError(ClientError):
    """The API answered 4xx or 5xx.

    ``error_code``, ``error_name`` and ``error_message`` are Blazar's error body as the API
    sent it (``{"error_code": 404, "error_name": "NotFound", "error_message": "..."}``);
    ``body`` is the whole parsed body (or the text when it was not JSON).
    """

    def __init__(
        self,
        status_code: int,
        error_name: str,
        error_message: str,
        body: Any = None,
        request_id: str | None = None,
        retry_after: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.error_code = status_code
        self.error_name = error_name
        self.error_message = error_message
        self.body = body
        self.request_id = request_id
        self.retry_after = retry_after
        super().__init__(str(self))

    def __str__(self) -> str:
        # The form OSC users know from other services: message, then (HTTP nnn).
        text = f"{self.error_name}: {self.error_message} (HTTP {self.status_code})"
        if self.retry_after:
            text += f" (retry after {self.retry_after} s)"
        if self.request_id:
            text += f" (Request-ID: {self.request_id})"
        return text


class NotFound(HttpError):
    """404: missing, or another project's (the API does not tell them apart)."""


class Conflict(HttpError):
    """409: quota, a Kubernetes-owned subscription, or a write that lost a race."""


class PreconditionFailed(HttpError):
    """412: ``If-Match`` named a version that is no longer current."""


class TooManyRequests(HttpError):
    """429: ``retry_after`` says in how many seconds to try again."""


_BY_STATUS: dict[int, type[HttpError]] = {
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    429: TooManyRequests,
}


def from_response(status_code: int, body: Any, headers: dict[str, str] | None = None) -> HttpError:
    """The exception for an error answer, whatever its body holds."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    name, message = f"HTTP{status_code}", ""
    if isinstance(body, dict):
        name = str(body.get("error_name") or name)
        message = str(body.get("error_message") or "")
    elif isinstance(body, str):
        message = body.strip()[:500]  # a proxy's HTML page: enough to recognise it
    cls = _BY_STATUS.get(status_code, HttpError)
    return cls(
        status_code,
        name,
        message,
        body=body,
        request_id=headers.get("x-openstack-request-id") or headers.get("x-request-id"),
        retry_after=headers.get("retry-after"),
    )
