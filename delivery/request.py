"""The HTTP form of a delivery: CloudEvents HTTP binding plus Standard Webhooks headers. Pure.

The CloudEvent is encoded once per event (:class:`Payload`) and shared by every subscription
it is delivered to, down to the bytes of its headers (:meth:`Payload.wire`); only the
signature and the subscription's own headers differ per delivery (:func:`to_wire`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final, Literal

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import http
from cloudevents.core.formats.json import JSONFormat

from blazar_events import PRODUCT, __version__
from blazar_events.subscription import Subscription
from delivery import signing

USER_AGENT: Final = f"{PRODUCT}/{__version__}"
_FORMAT: Final = JSONFormat()
# Headers a subscription may not set: they carry the event and its signature.
_RESERVED: Final = ("webhook-", "ce-", "content-type", "content-length", "host", "user-agent")

Mode = Literal["binary", "structured"]


@dataclass(frozen=True, slots=True)
class Target:
    """Where and how one subscription wants its events: what the attempt needs, nothing more."""

    subscription_id: str
    sink: str
    method: str = "POST"
    mode: Mode = "binary"
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float | None = None
    project_id: str = ""  # whose cap of attempts in flight it counts against ("": none)


def from_subscription(sub: Subscription) -> Target:
    settings = sub.protocolsettings
    return Target(
        subscription_id=sub.id,
        sink=sub.sink,
        method=settings.method,
        mode=settings.mode,
        headers=dict(settings.headers),
        timeout=sub.delivery.timeout_seconds,
        project_id=sub.project_id,
    )


class Payload:
    """One CloudEvent encoded for HTTP, each mode at most once."""

    def __init__(self, event: BaseCloudEvent) -> None:
        self.event = event
        self.event_id = event.get_id()

    @cached_property
    def binary(self) -> http.HTTPMessage:
        return http.to_binary(self.event, _FORMAT)

    @cached_property
    def structured(self) -> http.HTTPMessage:
        return http.to_structured(self.event, _FORMAT)

    def message(self, mode: Mode) -> http.HTTPMessage:
        return self.structured if mode == "structured" else self.binary

    @cached_property
    def _binary_wire(self) -> tuple[bytes, bytes]:
        return _to_shared_head(self.binary)

    @cached_property
    def _structured_wire(self) -> tuple[bytes, bytes]:
        return _to_shared_head(self.structured)

    def wire(self, mode: Mode) -> tuple[bytes, bytes]:
        """The header lines every subscription's request of this event carries (the event's
        own, content type, user agent), encoded; and the body. Once per event and mode."""
        return self._structured_wire if mode == "structured" else self._binary_wire


def _to_shared_head(message: http.HTTPMessage) -> tuple[bytes, bytes]:
    lines = [f"{name}: {value}" for name, value in message.headers.items()]
    lines.append(f"user-agent: {USER_AGENT}")
    return "\r\n".join(lines).encode("latin-1"), message.body


def to_extra_headers(headers: Mapping[str, Any]) -> dict[str, str]:
    """A subscription's own headers, without any that would spoof the event or its signature."""
    return {
        str(name): str(value)
        for name, value in headers.items()
        if not str(name).lower().startswith(_RESERVED)
    }


def to_request(
    target: Target, payload: Payload, secrets: Sequence[str], timestamp: int
) -> tuple[dict[str, str], bytes]:
    """Headers and body of the signed request; ``webhook-id`` is the CloudEvent id."""
    message = payload.message(target.mode)
    headers = to_extra_headers(target.headers)
    headers.update(message.headers)
    headers["user-agent"] = USER_AGENT
    headers.update(signing.to_headers(secrets, payload.event_id, timestamp, message.body))
    return headers, message.body


def to_wire(
    target: Target, payload: Payload, secrets: Sequence[str], timestamp: int
) -> tuple[bytes, bytes]:
    """:func:`to_request` as bytes: the header lines (for ``HttpClient.send``) and the body.

    The same headers, the per-event part shared; raises ``UnicodeError`` for a header that
    HTTP cannot carry, as encoding :func:`to_request`'s would.
    """
    shared, body = payload.wire(target.mode)
    own = signing.to_lines(secrets, payload.event_id, timestamp, body)
    extra = to_extra_headers(target.headers) if target.headers else None
    if not extra:
        return shared + b"\r\n" + own, body
    return b"\r\n".join((_to_lines(extra), shared, own)), body  # theirs first, as above


def _to_lines(headers: Mapping[str, str]) -> bytes:
    return "\r\n".join(f"{name}: {value}" for name, value in headers.items()).encode("latin-1")
