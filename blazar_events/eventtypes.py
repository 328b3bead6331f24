"""The catalog of Blazar event types and the rule that turns short forms into CloudEvent types.

Blazar's oslo ``event_type`` (``lease.event.start_lease``) becomes the CloudEvent type
``org.openstack.blazar.lease.event.start_lease`` (docs/design.md, Contract 1). Subscribers may write
either form; :func:`normalize_type` returns the full one and refuses text that is not an event
type at all. Types Blazar does not emit today are still valid (Blazar may add events):
:func:`is_known` tells the API when to warn. Pure, and imported by :mod:`blazar_events.events`.
"""

from __future__ import annotations

import re
from typing import Any

from blazar_events.errors import InvalidInput

TYPE_PREFIX = "org.openstack.blazar."
TEST_TYPE = TYPE_PREFIX + "subscription.test"
SNAPSHOT_TYPE = TYPE_PREFIX + "lease.snapshot"

# A CloudEvent type is free text by the spec; ours are dotted reverse-DNS words. Anything
# else (spaces, wildcards, empty segments) is a typo worth a 400, not a silent non-match.
_TYPE_SYNTAX = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\Z")
_MAX_TYPE_LENGTH = 255

_DATE = {"type": "string", "description": "naive UTC, e.g. 2026-07-10T12:00:00.000000"}
_STAMP = {"type": ["string", "null"], "description": "naive UTC, e.g. 2026-07-09 10:15:42"}
_ID = {"type": "string"}

LEGACY_PAYLOAD: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Lease payload of Blazar < 17.0.0 (and the Chameleon fork)",
    "type": "object",
    "required": ["lease_id", "user_id", "project_id", "start_date", "end_date"],
    "properties": {
        "lease_id": _ID,
        "user_id": _ID,
        "project_id": _ID,
        "start_date": _DATE,
        "end_date": _DATE,
    },
    "additionalProperties": True,
}

V2_PAYLOAD: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Lease payload of Blazar >= 17.0.0 (trust_id removed by the bridge)",
    "type": "object",
    "required": ["lease_id", "user_id", "project_id", "start_date", "end_date", "status"],
    "properties": {
        **LEGACY_PAYLOAD["properties"],
        "name": {"type": "string"},
        "status": {
            "type": "string",
            "description": "not always final: UPDATING on update, DELETING on delete, "
            "ERROR when a start failed",
        },
        "degraded": {"type": "boolean"},
        "created_at": _STAMP,
        "updated_at": _STAMP,
        "reservations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": _ID,
                    "lease_id": _ID,
                    "resource_id": _ID,
                    "resource_type": {"type": "string", "examples": ["physical:host"]},
                    "status": {"type": "string"},
                    "min": {"type": "integer"},
                    "max": {"type": "integer"},
                    "created_at": _STAMP,
                    "updated_at": _STAMP,
                },
                "additionalProperties": True,
            },
        },
        "events": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": _ID,
                    "lease_id": _ID,
                    "event_type": {"type": "string"},
                    "time": _DATE,
                    "status": {"type": "string", "examples": ["UNDONE", "DONE"]},
                    "created_at": _STAMP,
                    "updated_at": _STAMP,
                },
                "additionalProperties": True,
            },
        },
    },
    "additionalProperties": True,
}

TEST_PAYLOAD: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Synthetic event sent by POST /v1/subscriptions/{id}/test",
    "type": "object",
    "required": ["subscription_id"],
    "properties": {"subscription_id": _ID, "message": {"type": "string"}},
}

SNAPSHOT_PAYLOAD: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "A live lease's latest known state, sent on a subscription's request",
    "type": "object",
    "required": ["subscription_id", "lease", "last_event"],
    "properties": {
        "subscription_id": _ID,
        "lease": {
            "description": "the payload of the lease's newest event (see that event's schema)",
            "type": "object",
        },
        "last_event": {
            "type": "object",
            "required": ["id", "type", "time"],
            "properties": {
                "id": {"type": "string", "description": "the CloudEvent id of that event"},
                "type": {"type": "string", "examples": [TYPE_PREFIX + "lease.event.start_lease"]},
                "time": {"type": "string", "format": "date-time"},
            },
        },
    },
}

# The oslo event types Blazar emits today -> what each means to a subscriber.
BLAZAR_EVENTS: dict[str, str] = {
    "lease.create": "a lease was created",
    "lease.update": "a lease was updated (payload status UPDATING)",
    "lease.delete": "a lease is being deleted (payload status DELETING)",
    "lease.event.start_lease": "a lease started (status ERROR if the start failed)",
    "lease.event.end_lease": "a lease ended",
    "lease.event.before_end_lease": "a lease will end soon (before_end notification)",
    "lease.event.before_end_lease.stop": "the before_end action of a lease was stopped",
}


def normalize_type(value: str) -> str:
    """Full CloudEvent type for a full or short form; InvalidInput if it is not a type at all."""
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > _MAX_TYPE_LENGTH or not _TYPE_SYNTAX.match(text):
        raise InvalidInput(f"types: {value!r} is not an event type (dotted words expected)")
    return text if text.startswith(TYPE_PREFIX) else TYPE_PREFIX + text


def short_type(value: str) -> str:
    """The oslo event type of a CloudEvent type (the inverse of :func:`normalize_type`)."""
    return value[len(TYPE_PREFIX) :] if value.startswith(TYPE_PREFIX) else value


# Types this product emits itself (not Blazar): full type -> (description, payload schema).
# The reminders module fills its entry in, so the catalog needs no import of it.
OWN_EVENTS: dict[str, tuple[str, dict[str, Any]]] = {
    SNAPSHOT_TYPE: (
        "a live lease's latest state, sent to one subscription on its request "
        "(initial_state, POST .../snapshot); never from Blazar",
        SNAPSHOT_PAYLOAD,
    ),
}


def is_known(full_type: str) -> bool:
    """Whether Blazar (or this product, for the test event) emits this type today."""
    return (
        full_type == TEST_TYPE or short_type(full_type) in BLAZAR_EVENTS or full_type in OWN_EVENTS
    )


def catalog() -> list[dict[str, Any]]:
    """Every known type with the JSON schema of its payload, both Blazar generations."""
    entries = [
        {
            "type": TYPE_PREFIX + short,
            "short": short,
            "description": text,
            "dataschema": {"v2": V2_PAYLOAD, "legacy": LEGACY_PAYLOAD},
        }
        for short, text in BLAZAR_EVENTS.items()
    ]
    entries.append(
        {
            "type": TEST_TYPE,
            "short": "subscription.test",
            "description": "synthetic event sent on request to check a sink; never from Blazar",
            "dataschema": {"v2": TEST_PAYLOAD, "legacy": TEST_PAYLOAD},
        }
    )
    for full, (text, schema) in OWN_EVENTS.items():
        entries.append(
            {
                "type": full,
                "short": short_type(full),
                "description": text,
                "dataschema": {"v2": schema, "legacy": schema},
            }
        )
    return entries
