"""The HTTP form of a delivery: the bytes the broker sends (``to_wire``, the per-event part
encoded once and shared) are exactly the headers of ``to_request``, whatever headers a
subscription sets."""

from __future__ import annotations

import pytest
from cloudevents.core.base import BaseCloudEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from delivery.request import Payload, Target, to_request, to_wire
from tests.delivery.conftest import from_fixture, to_secret

EVENT = from_fixture("v2-lease.event.start_lease.json")
SECRETS = [to_secret(), to_secret()]
# What a tenant may put in a header (the API refuses control characters), reserved names too.
names = st.one_of(
    st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True),
    st.sampled_from(["webhook-id", "Content-Type", "ce-id", "Host", "User-Agent", "X-Team"]),
)
values = st.text(st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"))


def to_bytes(headers: dict[str, str]) -> bytes:
    return "\r\n".join(f"{name}: {value}" for name, value in headers.items()).encode("latin-1")


@settings(max_examples=200, deadline=None)
@given(
    extra=st.dictionaries(names, values, max_size=6),
    mode=st.sampled_from(["binary", "structured"]),
    signing=st.integers(1, 2),
    timestamp=st.integers(0, 2**33),
)
def test_the_wire_form_is_the_signed_request_byte_for_byte(
    extra: dict[str, str], mode: str, signing: int, timestamp: int
) -> None:
    target = Target("sub-1", "https://sink.example.org/", mode=mode, headers=extra)  # type: ignore[arg-type]
    payload = Payload(EVENT)

    headers, body = to_request(target, payload, SECRETS[:signing], timestamp)
    lines, wire_body = to_wire(target, payload, SECRETS[:signing], timestamp)

    assert lines == to_bytes(headers)
    assert wire_body == body
    assert payload.wire(mode) is payload.wire(mode)  # encoded once per event and mode


def test_a_header_http_cannot_carry_raises_as_before(event: BaseCloudEvent) -> None:
    target = Target("sub-1", "https://sink.example.org/", headers={"X-Name": "Ōta"})
    with pytest.raises(UnicodeError):
        to_wire(target, Payload(event), SECRETS[:1], 0)
