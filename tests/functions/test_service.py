"""The function as Knative calls it: a real HTTP service in front of a real sink and Redis."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import http
from cloudevents.core.v1.event import CloudEvent
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blazar_events.store import SubscriptionStore
from blazar_events.triggers import DEAD_LETTER_ROUTE, DELIVER_ROUTE, to_token, to_trigger
from delivery.http1 import Resolve
from delivery.settings import DeliverySettings
from functions import service as service_module
from functions.service import FunctionService, main
from stack.sink import Sink
from tests.delivery.conftest import to_subscription

T = TypeVar("T")
KEY = b"the operator's token key, 32 bytes or more"
PROJECT = "aa45f56901ef45ee95e3d211097c0ea3"  # the project of the fixture events


def subscribe(store: SubscriptionStore, sink: str, **fields: Any) -> tuple[str, str]:
    """A stored subscription of the events' project: (id, its secret)."""
    return to_subscription(store, sink, **{"project_id": PROJECT, **fields})


def path_of(store: SubscriptionStore, sub_id: str, route: str = "subscriber") -> str:
    """The path and query Knative calls: the rendered Trigger's, as the operator renders it."""
    trigger = to_trigger(store.get(sub_id), function_url="http://fn.example", token_key=KEY)
    uri = trigger["spec"]["subscriber" if route == "subscriber" else "delivery"]
    uri = uri["uri"] if route == "subscriber" else uri["deadLetterSink"]["uri"]
    parts = urlsplit(uri)
    return f"{parts.path}?{parts.query}"


def call(
    store: SubscriptionStore,
    use: Callable[[TestClient], Awaitable[T]],
    resolve: Resolve | None = None,
) -> T:
    settings = DeliverySettings.load(allowed_networks=["127.0.0.0/8"])

    async def main() -> T:
        service = FunctionService(settings, store, KEY, resolve)
        async with TestClient(TestServer(service.app())) as client:
            return await use(client)

    return asyncio.run(main())


def post(
    store: SubscriptionStore,
    path: str,
    event: BaseCloudEvent,
    times: int = 1,
    resolve: Resolve | None = None,
) -> list[tuple[int, bytes, dict[str, str]]]:
    message = http.to_binary_event(event)

    async def use(client: TestClient) -> list[tuple[int, bytes, dict[str, str]]]:
        answers = []
        for _ in range(times):
            async with client.post(path, data=message.body, headers=message.headers) as resp:
                answers.append((resp.status, await resp.read(), dict(resp.headers)))
        return answers

    return call(store, use, resolve)


def test_the_path_a_rendered_trigger_calls_is_served(
    store: SubscriptionStore, sink: Sink, event: BaseCloudEvent
) -> None:
    sub_id, secret = subscribe(store, sink.url("hook"))
    sink.verify_with("hook", secret)

    [(status, _, _)] = post(store, path_of(store, sub_id), event)

    assert status == 202
    assert [r.verified for r in sink.requests("hook")] == [True]


def test_a_delivery_answers_202_with_an_empty_body_and_is_logged(
    store: SubscriptionStore, sink: Sink, event: BaseCloudEvent
) -> None:
    sub_id, secret = subscribe(store, sink.url("hook"))
    sink.verify_with("hook", secret)

    [(status, body, _)] = post(store, path_of(store, sub_id), event)

    assert (status, body) == (202, b"")
    [received] = sink.requests("hook")
    assert received.verified is True
    [entry] = store.deliveries(sub_id)
    assert entry["outcome"] == "delivered" and entry["attempt"] == 1
    assert entry["event_id"] == event.get_id() and entry["status_code"] == 200


def test_a_failing_sink_makes_knative_retry_and_attempts_are_numbered(
    store: SubscriptionStore, sink: Sink, event: BaseCloudEvent
) -> None:
    sub_id, _ = subscribe(store, sink.url("flaky"))
    sink.answer("flaky", 503, 429, headers={"Retry-After": "3"})

    answers = post(store, path_of(store, sub_id), event, times=3)

    assert [a[0] for a in answers] == [503, 503, 202]
    assert answers[0][2]["Retry-After"] == "3"
    log = store.deliveries(sub_id)
    assert [(e["attempt"], e["outcome"]) for e in log] == [
        (3, "delivered"), (2, "retry"), (1, "retry"),
    ]  # fmt: skip


def test_410_disables_the_subscription(
    store: SubscriptionStore, sink: Sink, event: BaseCloudEvent
) -> None:
    sub_id, _ = subscribe(store, sink.url("gone"))
    sink.answer("gone", 410)

    answers = post(store, path_of(store, sub_id), event, times=2)

    assert [a[0] for a in answers] == [410, 410]
    assert store.get(sub_id).status == "DISABLED"
    assert len(sink.requests("gone")) == 1  # the disabled subscription is not called again


def test_a_4xx_from_the_sink_is_a_permanent_failure(
    store: SubscriptionStore, sink: Sink, event: BaseCloudEvent
) -> None:
    sub_id, _ = subscribe(store, sink.url("bad"))
    sink.answer("bad", 400)
    [(status, body, _)] = post(store, path_of(store, sub_id), event)
    assert status == 422 and b"the sink answered 400" in body


def test_unknown_subscription_and_non_cloudevent_requests_are_refused(
    store: SubscriptionStore, event: BaseCloudEvent
) -> None:
    token = to_token(KEY, "no-such-subscription", DELIVER_ROUTE)
    [(status, _, _)] = post(store, f"/subscriptions/no-such-subscription?token={token}", event)
    assert status == 410

    async def use(client: TestClient) -> int:
        headers = {"content-type": "text/plain"}
        path = f"/subscriptions/x?token={to_token(KEY, 'x', DELIVER_ROUTE)}"
        async with client.post(path, data=b"hello", headers=headers) as r:
            return r.status

    assert call(store, use) == 400


# --- who may call: the holder of the subscription's token ------------------------------------


def test_an_unauthenticated_caller_is_refused_and_nothing_is_sent(
    store: SubscriptionStore, sink: Sink, event: BaseCloudEvent
) -> None:
    """Any pod knowing a subscription id could otherwise have its own events signed and sent."""
    sub_id, _ = subscribe(store, sink.url("hook"), delivery={"deadLetterSink": sink.url("dl")})
    other_id, _ = subscribe(store, sink.url("other"))
    own = path_of(store, sub_id)
    token = own.split("token=", 1)[1]
    wrong = [
        (f"/subscriptions/{sub_id}", 401),
        (f"/subscriptions/{sub_id}?token=", 401),
        (f"/subscriptions/{sub_id}?token={'0' * 64}", 403),
        (f"/subscriptions/{sub_id}?token={token.upper()}", 403),
        (f"/subscriptions/{sub_id}?token={token[:-1]}", 403),
        (f"/subscriptions/{sub_id}?token=%C3%A9{token[2:]}", 403),
        # another subscription's token, and the dead-letter route's, open nothing here
        (f"/subscriptions/{sub_id}?{path_of(store, other_id).split('?')[1]}", 403),
        (f"/subscriptions/{sub_id}?{path_of(store, sub_id, 'dl').split('?')[1]}", 403),
        (f"/subscriptions/{sub_id}/deadletter?token={token}", 403),
        (f"/subscriptions/{sub_id}/deadletter", 401),
    ]

    for path, expected in wrong:
        [(status, body, _)] = post(store, path, event)
        assert (path, status) == (path, expected)
        assert b"error_message" in body

    assert sink.requests() == []
    assert store.deliveries(sub_id) == []


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(token=st.text(max_size=100))
def test_no_generated_token_opens_a_subscription(
    store: SubscriptionStore, sink: Sink, event: BaseCloudEvent, token: str
) -> None:
    sub_id, _ = subscribe(store, sink.url("hook"))
    [(status, _, _)] = post(store, f"/subscriptions/{sub_id}?{urlencode({'token': token})}", event)
    assert status in (401, 403)
    assert sink.requests() == []


# --- the tenant rule, re-checked: a Knative that ignores Trigger filters leaks nothing --------


def test_another_projects_event_is_taken_but_never_delivered(
    store: SubscriptionStore, sink: Sink, event: BaseCloudEvent
) -> None:
    others, _ = subscribe(store, sink.url("others"), project_id="another-project")
    mismatched_type, _ = subscribe(
        store, sink.url("types"), types=["org.openstack.blazar.lease.delete"]
    )
    everyone, secret = subscribe(store, sink.url("admin"), project_id="*")
    sink.verify_with("admin", secret)

    answers = [post(store, path_of(store, s), event)[0][0] for s in (others, mismatched_type)]

    # 202: Knative neither retries nor dead-letters what was never this subscriber's.
    assert answers == [202, 202]
    assert sink.requests("others") == [] and sink.requests("types") == []
    assert store.deliveries(others) == [] and store.deliveries(mismatched_type) == []
    assert post(store, path_of(store, everyone), event)[0][0] == 202
    assert [r.verified for r in sink.requests("admin")] == [True]


# --- dead letters: through the guarded client, never straight from Knative ------------------


def with_knative_errors(event: BaseCloudEvent, dest: str) -> BaseCloudEvent:
    """The event as Knative's dispatcher sends it to a dead-letter sink."""
    attributes = dict(event.get_attributes())
    attributes.update(
        knativeerrordest=dest,
        knativeerrorcode="503",
        knativeerrordata=base64.b64encode(b'{"error_code": 503}').decode(),
    )
    return CloudEvent(attributes, event.get_data())


def test_a_dead_letter_reaches_an_allowed_sink_signed_and_without_the_token(
    store: SubscriptionStore, sink: Sink, event: BaseCloudEvent
) -> None:
    sub_id, secret = subscribe(
        store, sink.url("hook"), delivery={"deadLetterSink": sink.url("dead")}
    )
    sink.verify_with("dead", secret)
    path = path_of(store, sub_id, "dl")
    letter = with_knative_errors(event, f"http://fn.example{path_of(store, sub_id)}")

    [(status, body, _)] = post(store, path, letter)

    assert (status, body) == (202, b"")
    [received] = sink.requests("dead")
    assert received.verified is True
    headers = {k.lower(): v for k, v in received.headers.items()}
    assert headers["ce-id"] == event.get_id()
    assert headers["ce-knativeerrorcode"] == "503"
    assert headers["ce-knativeerrordest"] == sink.url("hook")
    assert headers["ce-subscriptionid"] == sub_id
    token = path.split("token=", 1)[1]
    assert token not in str(received.headers) and token.encode() not in received.body
    assert sink.requests("hook") == []


def test_the_dead_letter_route_refuses_metadata_and_private_targets(
    store: SubscriptionStore, sink: Sink, event: BaseCloudEvent
) -> None:
    """Stored targets the API would refuse (or whose DNS changed since) are refused again."""
    for url, rule in (
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fd00:ec2::254]/", "metadata"),
        ("http://10.1.2.3:8080/dl", "private"),
    ):
        sub_id, _ = subscribe(store, sink.url("hook"), delivery={"deadLetterSink": url})
        [(status, body, _)] = post(store, path_of(store, sub_id, "dl"), event)
        assert status == 422 and f"rule={rule}".encode() in body
        assert b"169.254.169.254" not in body and b"10.1.2.3" not in body


def test_a_dead_letter_host_name_is_checked_when_it_is_resolved(
    store: SubscriptionStore, sink: Sink, event: BaseCloudEvent
) -> None:
    """DNS rebinding: the name is resolved, checked and pinned at connect time."""
    port = urlsplit(sink.url()).port
    sub_id, secret = subscribe(
        store, sink.url("hook"), delivery={"deadLetterSink": f"http://dl.example.org:{port}/dead"}
    )
    sink.verify_with("dead", secret)

    def resolving_to(address: str) -> Resolve:
        async def resolve(host: str, _port: int) -> list[str]:
            assert host == "dl.example.org"
            return [address]

        return resolve

    [(status, body, _)] = post(
        store, path_of(store, sub_id, "dl"), event, resolve=resolving_to("169.254.169.254")
    )
    assert status == 422 and b"rule=metadata" in body
    assert sink.requests("dead") == []

    [(status, _, _)] = post(
        store, path_of(store, sub_id, "dl"), event, resolve=resolving_to("127.0.0.1")
    )
    assert status == 202
    assert [r.verified for r in sink.requests("dead")] == [True]


def test_the_dead_letter_route_without_a_dead_letter_sink_sends_nothing(
    store: SubscriptionStore, sink: Sink, event: BaseCloudEvent
) -> None:
    sub_id, _ = subscribe(store, sink.url("hook"))
    token = to_token(KEY, sub_id, DEAD_LETTER_ROUTE)
    [(status, _, _)] = post(store, f"/subscriptions/{sub_id}/deadletter?token={token}", event)
    assert status == 410
    assert sink.requests() == []


@pytest.mark.parametrize(("key", "words"), [(None, "token_key"), ("short", "at least 32 bytes")])
def test_the_function_does_not_start_without_a_usable_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], key: str | None, words: str
) -> None:
    monkeypatch.delenv("BLAZAR_EVENTS_FUNCTION_TOKEN_KEY", raising=False)

    def run_app(*_: object, **__: object) -> None:
        raise AssertionError("the function started without a usable key")

    monkeypatch.setattr(service_module.web, "run_app", run_app)
    if key is not None:
        monkeypatch.setenv("BLAZAR_EVENTS_FUNCTION_TOKEN_KEY", key)
    assert main([]) == 2
    assert words in capsys.readouterr().err


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(project=st.one_of(st.just(PROJECT), st.text(max_size=40)))
def test_a_member_subscription_receives_its_own_projects_events_only(
    store: SubscriptionStore, sink: Sink, event: BaseCloudEvent, project: str
) -> None:
    """Whatever project an event names, it reaches the subscription of that project only."""
    sub_id, _ = subscribe(store, sink.url(f"hook-{len(sink.requests())}"))
    attributes = dict(event.get_attributes())
    attributes["projectid"] = project
    forged = CloudEvent(attributes, event.get_data())
    before = len(sink.requests())

    [(status, _, _)] = post(store, path_of(store, sub_id), forged)

    assert status == 202
    assert len(sink.requests()) - before == (1 if project == PROJECT else 0)


def with_record(event: BaseCloudEvent, offset: int) -> BaseCloudEvent:
    """The event as Knative's dispatcher sends it: the Kafka record it read, as extensions."""
    attributes = dict(event.get_attributes())
    attributes.update(knativekafkatopic="blazar.events", knativekafkapartition="2",
                      knativekafkaoffset=str(offset))  # fmt: skip
    return CloudEvent(attributes, event.get_data())


def test_knatives_retry_of_an_event_the_sink_took_is_answered_and_not_sent_again(
    store: SubscriptionStore, sink: Sink, event: BaseCloudEvent
) -> None:
    # The function was killed (or answered after the Trigger's timeout) once the sink had
    # taken the event: Knative calls again with the same record.
    sub_id, secret = subscribe(store, sink.url("hook"))
    sink.verify_with("hook", secret)
    record = with_record(event, 41)

    answers = post(store, path_of(store, sub_id), record, times=3)

    assert [a[0] for a in answers] == [202, 202, 202]
    assert [r.verified for r in sink.requests("hook")] == [True]
    assert [e["outcome"] for e in store.deliveries(sub_id)] == ["delivered"]


def test_a_retry_after_a_failed_attempt_and_a_new_record_of_a_known_event_are_sent(
    store: SubscriptionStore, sink: Sink, event: BaseCloudEvent
) -> None:
    # A receipt is written only after a 2xx; another record with the same event id (a
    # snapshot asked for again) is a delivery of its own; without Knative's extensions the
    # event's source and id name it.
    sub_id, _ = subscribe(store, sink.url("hook"))
    sink.answer("hook", 503)
    path = path_of(store, sub_id)

    first = post(store, path, with_record(event, 7), times=3)
    again = post(store, path, with_record(event, 8), times=2)
    bare = post(store, path, event, times=2)

    assert [a[0] for a in first + again + bare] == [503, 202, 202, 202, 202, 202, 202]
    assert len(sink.requests("hook")) == 4  # the 503, then one per record, one bare


def test_filters_that_fail_are_a_422_and_shown_on_the_subscription_once(
    store: SubscriptionStore, sink: Sink, event: BaseCloudEvent
) -> None:
    # Filters stored before today's cost limits: they no longer compile, on every event.
    sub_id, _ = subscribe(store, sink.url("hook"), filters=[{"sql": "NOT " * 1000 + "TRUE"}])
    version = store.get(sub_id).version

    answers = post(store, path_of(store, sub_id), event, times=3)

    assert [a[0] for a in answers] == [422, 422, 422]  # Knative dead-letters, never retries
    assert sink.requests("hook") == []
    stored = store.get(sub_id)
    assert stored.status_reason is not None
    assert stored.status_reason.startswith("its filters could not be evaluated: FilterError")
    assert stored.version == version + 1  # one write for one reason, not one per event
