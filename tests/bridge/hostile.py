"""Hypothesis strategies for what a hostile or broken publisher can put on Blazar's route.

A :class:`Hostile` is one AMQP message: a body and its basic properties, either as py-amqp
would write them or as raw bytes no well-behaved client writes. The bodies are built
around a real Blazar notification, so that a single field is wrong at a time and the rest
is what the bridge expects; large and deep ones are built by repetition, not drawn byte by
byte, to keep examples cheap.
"""

from __future__ import annotations

import copy
import json
import struct
import uuid
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from tests.bridge.conftest import fixture_message

TOKEN = "gAAAAABfuzz-keystone-token-must-never-leave-the-bus"
TEMPLATE = fixture_message("v2-lease.event.start_lease.json")
TEMPLATE["_context_auth_token"] = TOKEN
TEMPLATE["payload"]["trust_id"] = TOKEN

ENVELOPE_FIELDS = ("oslo.version", "oslo.message")
MESSAGE_FIELDS = (
    "message_id",
    "publisher_id",
    "event_type",
    "priority",
    "payload",
    "timestamp",
    "_context_auth_token",
    "_context_roles",
)
PAYLOAD_FIELDS = (
    "lease_id",
    "project_id",
    "user_id",
    "status",
    "trust_id",
    "start_date",
    "name",
    "reservations",
    "events",
)


@dataclass
class Hostile:
    body: bytes
    properties: dict[str, Any] = field(default_factory=dict)  # py-amqp's own encoding
    raw_properties: bytes | None = None  # or these bytes, as on the wire
    label: str = ""

    def __repr__(self) -> str:  # hypothesis prints failing examples: keep them readable
        head = self.body[:120]
        return f"Hostile({self.label}, {len(self.body)} bytes, {head!r}...)"


def message(**changes: Any) -> dict[str, Any]:
    """The template's oslo message, fresh ids, with ``changes`` applied."""
    result = copy.deepcopy(TEMPLATE)
    result["message_id"] = str(uuid.uuid4())
    result["payload"]["lease_id"] = str(uuid.uuid4())
    result.update(changes)
    return result


def envelope(inner: str) -> bytes:
    return json.dumps({"oslo.version": "2.0", "oslo.message": inner}).encode()


# --- values of the wrong type or shape, for any field ----------------------------------

ODD_STRINGS = st.sampled_from(
    [
        "",
        "   ",
        "\x00",
        "\u202e",
        "lease.",
        "lease..event",
        "x" * 300,
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
        "2026-13-45 25:61:61",
        "\ud800",  # a lone surrogate: json.dumps writes it as an escape
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**64, max_value=2**200)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | ODD_STRINGS
)
WRONG = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def wrong_types(draw: st.DrawFn) -> Hostile:
    """One field of the envelope, the message or the payload replaced by a wrong value."""
    level = draw(st.sampled_from(["envelope", "message", "payload"]))
    value = draw(WRONG)
    base = message()
    if level == "envelope":
        name = draw(st.sampled_from(ENVELOPE_FIELDS))
        outer: dict[str, Any] = {"oslo.version": "2.0", "oslo.message": json.dumps(base)}
        outer[name] = value
        body = json.dumps(outer).encode()
    elif level == "message":
        name = draw(st.sampled_from(MESSAGE_FIELDS))
        base[name] = value
        body = envelope(json.dumps(base))
    else:
        name = draw(st.sampled_from(PAYLOAD_FIELDS))
        base["payload"][name] = value
        body = envelope(json.dumps(base))
    return Hostile(body, label=f"wrong {level}.{name}")


@st.composite
def huge_strings(draw: st.DrawFn) -> Hostile:
    """A field holding a string of up to 1.2 MB (over and under max_body_bytes)."""
    level = draw(st.sampled_from(["message", "payload"]))
    name = draw(st.sampled_from(MESSAGE_FIELDS if level == "message" else PAYLOAD_FIELDS))
    size = draw(st.integers(10_000, 1_200_000))
    char = draw(st.sampled_from(["x", "é", "\u0085", "\U0001f600", '"', "\\"]))
    base = message()
    if level == "message":
        base[name] = char * (size // 4)
    else:
        base["payload"][name] = char * (size // 4)
    return Hostile(envelope(json.dumps(base, ensure_ascii=False)), label=f"huge {name}")


@st.composite
def deep_nesting(draw: st.DrawFn) -> Hostile:
    """Arrays or objects nested far deeper than any notification, at several places."""
    depth = draw(st.integers(90, 250_000))
    kind = draw(st.sampled_from(["array", "object"]))
    nested = "[" * depth + "]" * depth if kind == "array" else '{"a":' * depth + "1" + "}" * depth
    where = draw(st.sampled_from(["body", "inner", "payload", "v1 payload", "context"]))
    if where == "body":
        return Hostile(nested.encode(), label=f"{kind} {depth} deep")
    base = json.dumps(message(payload="@@"), ensure_ascii=False)
    if where == "context":
        base = json.dumps(message(_context_roles="@@"), ensure_ascii=False)
    inner = base.replace('"@@"', nested) if where != "inner" else nested
    body = inner.encode() if where == "v1 payload" else envelope(inner)
    return Hostile(body, label=f"{kind} {depth} deep in {where}")


@st.composite
def not_utf8(draw: st.DrawFn) -> Hostile:
    """A valid notification with bytes that are not UTF-8 (or escapes no Unicode has)."""
    body = envelope(json.dumps(message()))
    bad = draw(
        st.sampled_from(
            [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\\udc00"]
        )
    )
    at = draw(st.integers(0, len(body)))
    return Hostile(body[:at] + bad + body[at:], label=f"{bad!r} at {at}")


RANDOM_BYTES = st.builds(lambda b: Hostile(b, label="random bytes"), st.binary(max_size=2048))
BODIES = st.one_of(RANDOM_BYTES, wrong_types(), huge_strings(), deep_nesting(), not_utf8())


# --- AMQP properties -------------------------------------------------------------------


def _shortstr(value: bytes) -> bytes:
    return bytes([len(value)]) + value


def _table(entries: bytes) -> bytes:
    return struct.pack(">I", len(entries)) + entries


def nested_table(depth: int) -> bytes:
    inner = b""
    for _ in range(depth):
        inner = _shortstr(b"k") + b"F" + _table(inner)
    return _table(inner)


CONTENT_TYPE, CONTENT_ENCODING, HEADERS = 1 << 15, 1 << 14, 1 << 13


@st.composite
def raw_properties(draw: st.DrawFn) -> bytes:
    """Well-framed basic properties with values py-amqp may choke on."""
    choice = draw(st.sampled_from(["content", "timestamp", "nested"]))
    if choice == "content":
        kind = draw(st.binary(max_size=60))
        encoding = draw(st.binary(max_size=60))
        flags = CONTENT_TYPE | CONTENT_ENCODING
        return struct.pack(">H", flags) + _shortstr(kind) + _shortstr(encoding)
    if choice == "timestamp":
        stamp = draw(st.integers(0, 2**64 - 1))
        entry = _shortstr(b"sent") + b"T" + struct.pack(">Q", stamp)
        return struct.pack(">H", HEADERS) + _table(entry)
    return struct.pack(">H", HEADERS) + nested_table(draw(st.integers(1, 15_000)))


PROPERTIES = st.one_of(
    st.just({}),
    st.builds(
        lambda kind, encoding: {"content_type": kind, "content_encoding": encoding},
        st.sampled_from(["application/json", "text/plain; charset=latin-1", "", "x" * 255]),
        st.sampled_from(["gzip", "utf-16", "binary", "", "zlib"]),
    ),
    st.builds(
        lambda size: {"application_headers": {"padding": "h" * size}},
        st.integers(1_000, 100_000),  # a content header must fit one frame (128 KiB)
    ),
)


@st.composite
def hostile_messages(draw: st.DrawFn) -> Hostile:
    """A hostile body under ordinary properties, or a valid one under hostile properties."""
    if draw(st.integers(0, 4)) == 0:
        raw = draw(raw_properties())
        return Hostile(envelope(json.dumps(message())), raw_properties=raw, label="raw properties")
    hostile = draw(BODIES)
    hostile.properties = draw(PROPERTIES)
    return hostile
