"""The verifying sink over real HTTP on loopback: it records, parses and verifies what
arrives, and plays a failing subscriber when told to."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from delivery import signing
from stack.sink import HANG, Sink
from tests.delivery.conftest import to_secret

EVENT = {"specversion": "1.0", "id": "e-1", "source": "/openstack/blazar/blazar.lease",
         "type": "org.openstack.blazar.lease.create", "data": {"lease_id": "l-1"}}  # fmt: skip
STRUCTURED = {"content-type": "application/cloudevents+json"}


@pytest.fixture
def sink() -> Iterator[Sink]:
    with Sink() as running:
        yield running


def post(sink: Sink, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(sink.url(path), content=body, headers=headers, timeout=60)


def test_a_signed_cloudevent_is_recorded_parsed_and_verified(sink: Sink) -> None:
    secret, other = to_secret(), to_secret()
    sink.verify_with("hook", other, secret)  # either secret of a rotation verifies
    body = json.dumps(EVENT).encode()
    signed = signing.to_headers([secret], "msg-1", int(time.time()), body)
    assert post(sink, "hook", body, {**STRUCTURED, **signed}).status_code == 200
    (got,) = sink.requests("/hook")
    assert got.method == "POST" and got.body == body and got.verified is True
    assert got.event is not None and got.event.get_id() == "e-1" and got.error == ""


def test_a_wrong_signature_or_a_body_that_is_no_cloudevent_is_recorded_as_such(sink: Sink) -> None:
    sink.verify_with("hook", to_secret())
    body = json.dumps(EVENT).encode()
    forged = signing.to_headers([to_secret()], "msg-2", int(time.time()), body)
    post(sink, "hook", body, {**STRUCTURED, **forged})
    post(sink, "open", b"\x00not json", {"content-type": "application/json"})
    forged_request, junk = sink.requests()
    assert (forged_request.verified, forged_request.error) == (False, "signature does not verify")
    assert (
        junk.verified is None and junk.event is None and junk.error.startswith("not a CloudEvent")
    )


def test_scripted_answers_in_order_then_the_default(sink: Sink) -> None:
    sink.answer("hook", 503, 429, headers={"Retry-After": "3"})
    statuses = [post(sink, "hook", b"{}", STRUCTURED) for _ in range(3)]
    assert [r.status_code for r in statuses] == [503, 429, 200]
    assert statuses[1].headers["Retry-After"] == "3"
    sink.answer_always("hook", 410)
    assert post(sink, "hook", b"{}", STRUCTURED).status_code == 410
    assert post(sink, "other", b"{}", STRUCTURED).status_code == 200


def test_a_hung_path_holds_the_request_until_the_sink_stops() -> None:
    sink = Sink().start()
    sink.answer("slow", HANG)
    answers: list[int] = []
    caller = threading.Thread(
        target=lambda: answers.append(post(sink, "slow", b"{}", {}).status_code)
    )
    caller.start()
    sink.wait_for(lambda seen: len(seen) == 1, timeout=60)
    assert answers == []  # still held
    sink.stop()
    caller.join(60)
    assert answers == [503]


def test_waiting_for_what_never_arrives_says_so(sink: Sink) -> None:
    with pytest.raises(TimeoutError, match="saw 0 request"):
        sink.wait_for(lambda seen: len(seen) > 0, timeout=0.2)
