"""Blazar notifications -> CloudEvents (docs/design.md, Contract 1), and the event-type catalog.

Everything here is pure: bytes or dicts in, a CloudEvent (or ``None`` for a notification
that is not Blazar's) out. A notification that claims to be Blazar's but cannot be
translated raises :class:`~blazar_events.errors.NotificationRejected` with a short reason
tag; the bridge routes those to the rejected topic.

oslo.messaging puts two shapes on the bus:

* ``messagingv2``: ``{"oslo.version": "2.0", "oslo.message": "<the message as a JSON string>"}``;
* ``messaging`` (v1): the message dict itself.

The message dict carries ``message_id``, ``publisher_id``, ``event_type``, ``priority``,
``payload``, ``timestamp`` (naive UTC, ``2026-07-10 12:00:08.104233``) and the caller's
request context flattened into ``_context_*`` keys, which include the Keystone token.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from cloudevents.core.v1.event import CloudEvent

from blazar_events.errors import InvalidInput, NotificationRejected

# The type naming lives with the catalog; re-exported here for the translation's readers.
from blazar_events.eventtypes import BLAZAR_EVENTS
from blazar_events.eventtypes import TYPE_PREFIX as TYPE_PREFIX
from blazar_events.eventtypes import normalize_type as normalize_type
from blazar_events.eventtypes import short_type as short_type
from blazar_events.redaction import MAX_DEPTH, sanitize, too_deep, without_secrets

BLAZAR_EVENT_TYPES: Final = tuple(BLAZAR_EVENTS)
"""The oslo event types Blazar emits today (nothing is emitted for hosts or floating IPs)."""

DATA_CONTENT_TYPE: Final = "application/json"
SUPPORTED_OSLO_VERSIONS: Final = frozenset({"2.0"})


@dataclass(frozen=True)
class Selection:
    """Which notifications are Blazar's: the ``notifications`` topic is shared by every service.

    A message is selected when its ``publisher_id`` starts with one of ``publisher_prefixes``
    or its ``event_type`` starts with one of ``type_prefixes``. With both empty, every
    message is selected.
    """

    publisher_prefixes: tuple[str, ...] = ("blazar.",)
    type_prefixes: tuple[str, ...] = ("lease.",)

    @classmethod
    def of(cls, publishers: Iterable[str], types: Iterable[str]) -> Selection:
        return cls(tuple(publishers), tuple(types))

    def selects(self, message: Mapping[str, Any]) -> bool:
        if not self.publisher_prefixes and not self.type_prefixes:
            return True
        publisher = message.get("publisher_id")
        event_type = message.get("event_type")
        return (isinstance(publisher, str) and publisher.startswith(self.publisher_prefixes)) or (
            isinstance(event_type, str) and event_type.startswith(self.type_prefixes)
        )


def from_body(body: bytes, *, max_bytes: int | None = None) -> dict[str, Any]:
    """The oslo message dict in an AMQP body, whichever driver wrote it, without secrets.

    No ``trust_id`` or ``_context_*`` key survives this call, at any depth.

    Raises NotificationRejected for anything that is not one: too large, not UTF-8, not
    JSON, not an object, an unknown envelope version or an envelope whose inner message
    does not parse.
    """
    if max_bytes is not None and len(body) > max_bytes:
        raise NotificationRejected(
            "too-large", f"the body has {len(body)} bytes, more than the limit of {max_bytes}"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotificationRejected("not-utf8", f"the body is not UTF-8: {exc}") from None
    outer = _json_object(text, "not-json", "the body")
    if "oslo.message" not in outer and "oslo.version" not in outer:
        _check_depth(outer, text, "not-json", "the body")
        return without_secrets(outer, text)  # the v1 `messaging` driver: the message itself
    version = outer.get("oslo.version")
    if not isinstance(version, str) or version not in SUPPORTED_OSLO_VERSIONS:  # [] is unhashable
        raise NotificationRejected(
            "unsupported-envelope", f"unsupported oslo.version {version!r} (expected 2.0)"
        )
    inner = outer.get("oslo.message")
    if not isinstance(inner, str):
        raise NotificationRejected("invalid-envelope", "oslo.message is not a JSON string")
    message = _json_object(inner, "invalid-envelope", "oslo.message")
    _check_depth(message, inner, "invalid-envelope", "oslo.message")
    return without_secrets(message, inner)


def _json_object(text: str, reason: str, what: str) -> dict[str, Any]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise NotificationRejected(reason, f"{what} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise NotificationRejected(
            reason, f"{what} is a JSON {type(value).__name__}, not an object"
        )
    return value


def _check_depth(value: Any, text: str, reason: str, what: str) -> None:
    # A value cannot nest deeper than it has brackets: counting them (in C) spares the
    # walk for every real notification, which has a few dozen at most.
    if text.count("{") + text.count("[") > MAX_DEPTH and too_deep(value):
        raise NotificationRejected(reason, f"{what} nests deeper than {MAX_DEPTH} levels")


def to_cloudevent(
    message: Mapping[str, Any],
    *,
    source_prefix: str = "/openstack/blazar",
    selection: Selection | None = None,
    sanitized: bool = False,
) -> CloudEvent | None:
    """The CloudEvent of one oslo notification message, or ``None`` if it is not Blazar's.

    Raises NotificationRejected when the message is Blazar's but lacks what Contract 1
    needs. An event type Blazar does not emit today still flows through with its derived
    type: subscribers may know about it before this code does. ``sanitized=True`` says the
    message came from :func:`from_body`, which already dropped every secret.
    """
    if not (selection or Selection()).selects(message):
        return None
    message_id = _text(message, "message_id", "missing-message-id")
    publisher_id = _text(message, "publisher_id", "missing-publisher-id")
    event_type = message.get("event_type")
    if event_type is None:
        raise NotificationRejected("missing-event-type", "the message has no event_type")
    if not isinstance(event_type, str):
        raise NotificationRejected(
            "invalid-event-type", f"event_type must be a string, not {event_type!r}"
        )
    try:
        cloudevent_type = normalize_type(event_type)
    except InvalidInput as exc:
        raise NotificationRejected("invalid-event-type", exc.message) from None
    payload = message.get("payload")
    if not isinstance(payload, dict):
        raise NotificationRejected(
            "invalid-payload", f"the payload is a {type(payload).__name__}, not an object"
        )
    lease_id = _text(payload, "lease_id", "missing-lease-id")
    project_id = _text(payload, "project_id", "missing-project-id")
    attributes: dict[str, Any] = {
        "specversion": "1.0",
        "id": message_id,
        "source": f"{source_prefix.rstrip('/')}/{publisher_id}",
        "type": cloudevent_type,
        "subject": lease_id,
        "time": from_oslo_timestamp(message.get("timestamp")),
        "datacontenttype": DATA_CONTENT_TYPE,
        "projectid": project_id,
        "leaseid": lease_id,
        "partitionkey": lease_id,
    }
    # Legacy payloads (Blazar < 17) carry no status; an absent extension says so honestly.
    for extension, key in (("userid", "user_id"), ("leasestatus", "status")):
        value = payload.get(key)
        if isinstance(value, str) and value:
            attributes[extension] = value
    return CloudEvent(attributes, payload if sanitized else sanitize(payload))


def from_oslo_timestamp(value: Any) -> datetime:
    """oslo's naive-UTC ``2026-07-10 12:00:08.104233`` as an aware UTC datetime."""
    if not isinstance(value, str):
        raise NotificationRejected(
            "invalid-timestamp", f"timestamp is missing or not a string: {value!r}"
        )
    try:
        parsed = datetime.fromisoformat(value.strip())
        # Year 1 at +14:00 or year 9999 at -14:00 has no UTC time: OverflowError.
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise NotificationRejected(
            "invalid-timestamp", f"timestamp {value!r} is not an ISO 8601 time in UTC's range"
        ) from None


def _text(container: Mapping[str, Any], key: str, reason: str) -> str:
    value = container.get(key)
    if not isinstance(value, str) or not value.strip():
        raise NotificationRejected(reason, f"{key} is missing or not a non-empty string")
    return value
