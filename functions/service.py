"""The delivery function as an HTTP service, for a Knative Trigger (``blazar-events function``).

``POST /subscriptions/{subscription_id}?token=...`` with a CloudEvent (binary or structured)
makes one attempt and answers so that Knative's own delivery spec does the retrying and the
dead-lettering:

* delivered: 202 and an empty body (a 200 with a CloudEvent body would re-enter the broker);
* retry: 503, with ``Retry-After`` when the sink sent one;
* permanent failure: 422; the sink answered 410 or the subscription is gone/disabled: 410.

``POST /subscriptions/{subscription_id}/deadletter?token=...`` is the Trigger's dead-letter
sink: one attempt at the tenant's ``deadLetterSink`` through the same guarded client.

Before anything else the caller must show the subscription's token for that route (401
without, 403 with a wrong one: :mod:`functions.callers`); then the event must match the
subscription (tenant rule, types, filters), else it is dropped with a 202 and never sent.
Error bodies use Blazar's shape. ``GET /healthz`` answers 200 while Redis answers.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import dataclass

from aiohttp import web
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import http

from blazar_events import logs
from blazar_events.errors import BlazarEventsError, NotFound, to_error_body
from blazar_events.matching import to_attributes
from blazar_events.redis_clients import to_redis
from blazar_events.settings import RedisSettings
from blazar_events.status_reasons import to_reason
from blazar_events.store import SubscriptionStore
from blazar_events.subscription import Subscription
from blazar_events.triggers import DEAD_LETTER_ROUTE, DELIVER_ROUTE, TOKEN_PARAMETER
from delivery.client import Sender
from delivery.http1 import Resolve
from delivery.outcomes import Delivered, Gone, Outcome, Retry, to_name
from delivery.request import Payload, from_subscription
from delivery.settings import DeliverySettings
from functions.callers import check_caller, to_key
from functions.deadletters import to_dead_letter, to_target
from functions.receipts import Receipts, to_identity
from functions.settings import FunctionSettings
from functions.subscribers import Subscribers

log = logging.getLogger(__name__)

MAX_EVENT_BYTES = 1024 * 1024


def _error(status: int, name: str, message: str, **headers: str) -> web.Response:
    return web.json_response(to_error_body(status, name, message), status=status, headers=headers)


def to_response(outcome: Outcome) -> web.Response:
    """Knative's reading of an outcome: 2xx done, 5xx retry, 4xx dead-letter now."""
    if isinstance(outcome, Delivered):
        return web.Response(status=202)
    if isinstance(outcome, Retry):
        headers = {"Retry-After": str(round(outcome.after))} if outcome.after else {}
        return _error(503, "DeliveryRetry", outcome.error, **headers)
    if isinstance(outcome, Gone):
        return _error(410, "SinkGone", outcome.error)
    return _error(422, "DeliveryFailed", outcome.error)


@dataclass(frozen=True, slots=True)
class Call:
    """An authenticated call for an active subscription, with an event it matches."""

    sub: Subscription
    secrets: list[str]
    event: BaseCloudEvent


class FunctionService:
    def __init__(
        self,
        settings: DeliverySettings,
        store: SubscriptionStore,
        token_key: bytes,
        resolve: Resolve | None = None,
        receipts: Receipts | None = None,
    ) -> None:
        """``token_key`` is the operator's (the Triggers' tokens); ``resolve`` replaces DNS;
        ``receipts`` (default: 15 minutes, 10,000 per subscription) stop a second send of what
        a sink took.
        """
        self.settings = settings
        self.subscribers = Subscribers(store, receipts)
        self.token_key = token_key
        self.resolve = resolve
        self.sender: Sender | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_EVENT_BYTES)
        # The paths every rendered Trigger calls (blazar_events.triggers.to_trigger).
        app.router.add_post("/subscriptions/{subscription_id}", self.deliver)
        app.router.add_post("/subscriptions/{subscription_id}/deadletter", self.dead_letter)
        app.router.add_get("/healthz", self.health)
        app.on_startup.append(self._open)
        app.on_cleanup.append(self._close)
        return app

    async def _open(self, _app: web.Application) -> None:
        self.sender = Sender(self.settings, self.resolve)

    async def _close(self, _app: web.Application) -> None:
        if self.sender is not None:
            await self.sender.close()

    async def health(self, _request: web.Request) -> web.Response:
        try:
            await asyncio.to_thread(self.subscribers.store.ping)
        except BlazarEventsError as exc:
            return _error(503, "ServiceUnavailable", exc.message)
        return web.json_response({"status": "ok"})

    async def _accept(self, request: web.Request, route: str) -> Call | web.Response:
        """The call if it may proceed, else the answer to give: the caller first, then the
        event, the subscription and the match (a stranger learns nothing of the others)."""
        sub_id = request.match_info["subscription_id"]
        try:
            check_caller(self.token_key, sub_id, route, request.query.get(TOKEN_PARAMETER))
        except BlazarEventsError as exc:
            return _error(exc.code, exc.name, exc.message)
        body = await request.read()
        try:
            event = http.from_http_event(http.HTTPMessage(dict(request.headers), body))
        except Exception as exc:  # the SDK raises several types for a malformed event
            return _error(400, "InvalidInput", f"the request is not a CloudEvent: {exc}")
        try:
            sub, secrets = await asyncio.to_thread(self.subscribers.get, sub_id)
        except NotFound as exc:
            return _error(410, "NotFound", exc.message)
        except BlazarEventsError as exc:  # Redis down: Knative retries later
            return _error(503, exc.name, exc.message)
        if sub.status != "ACTIVE":
            return _error(410, "SubscriptionDisabled", f"subscription {sub_id} is disabled")
        try:
            matches = self.subscribers.matches(sub, to_attributes(event))
        except Exception as exc:  # whatever a filter does, this event gets an answer
            log.warning("subscription %s: filters failed on event %s: %r", sub_id,
                        event.get_id(), exc)  # fmt: skip
            await asyncio.to_thread(self.subscribers.note, sub, to_reason("match", exc))
            return _error(422, "FilterFailed", "the subscription's filters could not be evaluated")
        if not matches:
            # Only a Knative that ignores the Trigger's filters sends this: not for this
            # subscriber (another project's lease, another type). Taken, never delivered;
            # debug only, as such a Knative sends every event to every subscription.
            log.debug("subscription %s: event %s does not match it, dropped", sub_id,
                     event.get_id())  # fmt: skip
            return web.Response(status=202)
        return Call(sub, secrets, event)

    async def deliver(self, request: web.Request) -> web.Response:
        assert self.sender is not None
        call = await self._accept(request, DELIVER_ROUTE)
        if isinstance(call, web.Response):
            return call
        sub, event = call.sub, call.event
        identity = to_identity(event.get_attributes())
        try:
            number, sent = await asyncio.to_thread(
                self.subscribers.begin, sub.id, event.get_id(), identity
            )
        except BlazarEventsError as exc:  # Redis down: Knative retries later
            return _error(503, exc.name, exc.message)
        if sent:  # Knative's retry of what the sink took: answered, not sent again
            log.info("subscription %s event %s: delivered already, not sent again", sub.id,
                     event.get_id())  # fmt: skip
            return web.Response(status=202)
        attempt = await self.sender.attempt(
            from_subscription(sub), Payload(event), call.secrets, number
        )
        log.info(
            "subscription %s event %s attempt %d: %s",
            sub.id, event.get_id(), number, to_name(attempt.outcome),
        )  # fmt: skip
        try:
            await asyncio.to_thread(
                self.subscribers.record, sub.id, attempt, event.get_id(), event.get_type(),
                identity,
            )  # fmt: skip
        except BlazarEventsError as exc:  # best effort: the delivery happened
            log.warning("receipt or delivery log of %s not written: %s", sub.id, exc.message)
        return to_response(attempt.outcome)

    async def dead_letter(self, request: web.Request) -> web.Response:
        """Knative gave up on an event: one guarded attempt at the tenant's dead-letter sink."""
        assert self.sender is not None
        call = await self._accept(request, DEAD_LETTER_ROUTE)
        if isinstance(call, web.Response):
            return call
        target = to_target(call.sub)
        if target is None:
            message = f"subscription {call.sub.id} has no dead-letter sink"
            return _error(410, "NoDeadLetterSink", message)
        letter = to_dead_letter(call.event, call.sub)
        attempt = await self.sender.attempt(target, Payload(letter), call.secrets)
        outcome = attempt.outcome
        if not isinstance(outcome, Delivered):
            log.warning(
                "dead-letter sink of %s did not take event %s: %s: %s",
                call.sub.id, letter.get_id(), to_name(outcome), getattr(outcome, "error", ""),
            )  # fmt: skip
        if isinstance(outcome, Gone):  # the dead-letter sink going away disables nothing
            return _error(422, "DeliveryFailed", outcome.error)
        return to_response(outcome)


def to_store(settings: RedisSettings) -> SubscriptionStore:
    return SubscriptionStore(to_redis(settings), settings.key_prefix)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="blazar-events function", description=__doc__)
    parser.add_argument("--host", help="listen address (default: settings)")
    parser.add_argument("--port", type=int, help="listen port (default: settings)")
    args = parser.parse_args(argv)
    settings = FunctionSettings.load()
    logs.configure(settings.log_level, settings.log_format)
    delivery = DeliverySettings.load()
    if settings.token_key is None:
        print(
            "blazar-events function: [function] token_key (BLAZAR_EVENTS_FUNCTION_TOKEN_KEY) is "
            "required: the operator's key that the Triggers' tokens are made with",
            file=sys.stderr,
        )
        return 2
    try:
        key = to_key(settings.token_key.get_secret_value())
    except ValueError as exc:
        print(f"blazar-events function: {exc}", file=sys.stderr)
        return 2
    store = to_store(RedisSettings.load())
    receipts = Receipts(store.keys, settings.receipt_window, settings.receipt_limit)
    service = FunctionService(delivery, store, key, receipts=receipts)
    host, port = args.host or settings.host, args.port or settings.port
    log.info("delivery function on http://%s:%d/subscriptions/{subscription_id}", host, port)
    web.run_app(
        service.app(), host=host, port=port, access_log=None, print=None,
        handle_signals=True, shutdown_timeout=delivery.default_timeout,
    )  # fmt: skip
    return 0
