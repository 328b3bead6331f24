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

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, cast

import orjson
from cloudevents.core.v1.event import CloudEvent

from blazar_events.errors import InvalidInput, NotificationRejected

# The type naming lives with the catalog; re-exported here for the translation's readers.
from blazar_events.eventtypes import BLAZAR_EVENTS
from blazar_events.eventtypes import TYPE_PREFIX as TYPE_PREFIX
from blazar_events.eventtypes import normalize_type as normalize_type
from blazar_events.eventtypes import short_type as short_type

BLAZAR_EVENT_TYPES: Final = tuple(BLAZAR_EVENTS)
"""The oslo event types Blazar emits today (nothing is emitted for hosts or floating IPs)."""

DATA_CONTENT_TYPE: Final = "application/json"
SUPPORTED_OSLO_VERSIONS: Final = frozenset({"2.0"})
REDACTED: Final = "[redacted]"
MAX_DEPTH: Final = 100
"""Deepest nesting of objects and arrays a notification may have (Blazar's is about 5).

The parser (orjson) stops at 1,024 levels by itself, so parsing an untrusted body is
bounded in depth, and in size by ``max_bytes``. This lower bound is for what walks a
parsed message afterwards: the secret filters here and the CloudEvent's serializer
(orjson writes 254 levels at most) recurse, and Python stops recursing at 1,000 frames.
"""

# A secret key (see _is_secret) and its value in text that is not valid JSON (truncated,
# garbled) or inside a JSON string (quotes escaped once, as in oslo.message, or more),
# with bytes that are not text tolerated around the colon.
_JUNK = rb"(?:[\x80-\xff]|\\u[0-9a-fA-F]{4})*"
_SECRET_TEXT = re.compile(
    rb'(\\*"(?:trust_id|_context_[A-Za-z0-9_]*)\\*"'
    + _JUNK
    + rb"\s*"
    + _JUNK
    + rb":"
    + _JUNK
    + rb"\s*"
    + _JUNK
    + rb')((?:[^",}\s]*\s*)?\\*"[^"\\]*\\*"|[^,}\s]+)'
)
# What the pattern could not see: secret names behind escapes or among bytes that are not
# printable ASCII (`"\xfftrust_id"`, `"\u0074rust_id"`, `"_con\\udc00text_..."`).
_SECRET_NAME = re.compile(rb"trust_id|_context_")
_ASCII_ESCAPE = re.compile(rb"\\u00([2-7][0-9a-fA-F])")
_NOISE = re.compile(rb"\\u[0-9a-fA-F]{4}|[^\x20-\x7e]")
WITHHELD: Final = b"[withheld: the body does not parse and a credential may hide in it]"


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
        return _without_secrets(outer, text)  # the v1 `messaging` driver: the message itself
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
    return _without_secrets(message, inner)


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


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests objects and arrays more than ``limit`` levels (no recursion)."""
    pending: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _without_secrets(message: dict[str, Any], text: str) -> dict[str, Any]:
    """``message`` (parsed from ``text``) without secrets, walking it whole only if needed.

    Blazar puts secrets at two levels: ``_context_*`` in the message, ``trust_id`` in the
    payload. Every key dropped there occurs once in the text; if the text holds more
    occurrences, a secret sits deeper (or in a value, or the text escapes letters), and
    only then is the whole tree walked. The common case costs two dict comprehensions and
    two substring counts, which matters at thousands of notifications a second.
    """
    clean = {k: v for k, v in message.items() if k != "trust_id" and k[:9] != "_context_"}
    dropped = len(message) - len(clean)
    payload = clean.get("payload")
    if isinstance(payload, dict):
        kept = {k: v for k, v in payload.items() if k != "trust_id" and k[:9] != "_context_"}
        dropped += len(payload) - len(kept)
        clean["payload"] = kept
    if "\\u" in text or text.count('"trust_id"') + text.count('"_context_') != dropped:
        return cast(dict[str, Any], sanitize(clean))
    return clean


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


def _is_secret(key: str) -> bool:
    return key == "trust_id" or key.startswith("_context_")


def sanitize(value: Any) -> Any:
    """``value`` without any ``trust_id`` or ``_context_*`` key, at any depth (a copy)."""
    if isinstance(value, dict):
        return {k: sanitize(v) for k, v in value.items() if not _is_secret(str(k))}
    if isinstance(value, list):
        return [sanitize(v) for v in value]
    return value


def redact(value: Any) -> Any:
    """``value`` with the values of secret keys replaced, keeping the shape (a copy).

    Rejected bodies keep their keys so an operator can see what was wrong with them.
    """
    if isinstance(value, dict):
        return {
            k: REDACTED if _is_secret(str(k)) and v is not None else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def redact_body(body: bytes) -> bytes:
    """A rejected body with every credential value replaced by ``[redacted]``.

    Structured when the body (and the envelope's inner message) parse as JSON within
    :data:`MAX_DEPTH`, by pattern otherwise: a truncated body can still carry a token. The
    parser is orjson (1,024 levels at most, never a RecursionError), never :mod:`json`,
    whose pure-Python fallback and the walk after it recurse without a bound of their own.
    The pattern runs over the result in any case; see :func:`_redact_text`.
    """
    try:
        outer = orjson.loads(body)
    except orjson.JSONDecodeError:  # not UTF-8, not JSON, or deeper than orjson goes
        return _redact_text(body)
    if too_deep(outer):
        return _redact_text(body)
    if isinstance(outer, dict) and isinstance(outer.get("oslo.message"), str):
        inner = outer["oslo.message"]
        try:
            message = orjson.loads(inner)
        except orjson.JSONDecodeError:
            message = None
        if isinstance(message, dict | list) and not too_deep(message):
            outer["oslo.message"] = orjson.dumps(redact(message)).decode("utf-8")
    # The pattern too: JSON can hide more JSON in any string (a payload sent as text).
    return _redact_text(orjson.dumps(redact(outer)))


def _redact_text(body: bytes) -> bytes:
    """``body`` with the values of secret keys replaced by pattern, or :data:`WITHHELD`.

    Should a secret name hide from the pattern (garbled by bytes that are not text, or
    written with escapes), more names show once those are cleaned away than the pattern
    replaced: then nothing of the body is kept, only its size and hash in the headers.
    """

    def replace(match: re.Match[bytes]) -> bytes:
        key = match.group(1)  # its quotes are escaped as the value's must be
        quote = key[: key.index(b'"') + 1]
        return key + quote + REDACTED.encode() + quote

    redacted, replaced = _SECRET_TEXT.subn(replace, body)
    visible = _NOISE.sub(b"", _ASCII_ESCAPE.sub(lambda m: bytes.fromhex(m[1].decode()), body))
    if len(_SECRET_NAME.findall(visible)) > replaced:
        return WITHHELD
    return redacted
