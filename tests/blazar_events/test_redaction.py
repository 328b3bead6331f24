"""Redaction: no credential of a notification survives into a rejected record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from blazar_events import redaction
from tests.blazar_events.conftest import FIXTURES, MALFORMED, SECRETS, inner, malformed_body


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_redacted_rejected_body_keeps_no_secret(name: str) -> None:
    assert not any(s.encode() in redaction.redact_body(malformed_body(name)) for s in SECRETS)


@pytest.mark.parametrize(
    "path", [FIXTURES / "v2-lease.create.json", FIXTURES / "v1-lease.event.end_lease.json"]
)
def test_redaction_keeps_the_shape_of_a_parseable_body(path: Path) -> None:
    body = json.loads(redaction.redact_body(path.read_bytes()))
    redacted = json.loads(body["oslo.message"]) if "oslo.message" in body else body
    original = inner(path)
    assert redacted["payload"]["trust_id"] == redaction.REDACTED
    assert redacted["message_id"] == original["message_id"]
    if original["_context_auth_token"]:
        assert redacted["_context_auth_token"] == redaction.REDACTED


def test_redaction_by_pattern_covers_garbled_bodies() -> None:
    raw = (FIXTURES / "v2-lease.create.json").read_bytes()[:-40]  # truncated: no longer JSON
    redacted = redaction.redact_body(raw)
    assert not any(s.encode() in redacted for s in SECRETS)
    assert b"lease.create" in redacted
