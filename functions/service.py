"""The delivery function as an HTTP service, for a Knative Trigger (``blazar-events function``).

``POST /subscriptions/{subscription_id}`` with a CloudEvent (binary or structured) makes one
attempt and
answers so that Knative's own delivery spec does the retrying and the dead-lettering:

* delivered: 202 and an empty body (a 200 with a CloudEvent body would re-enter the broker);
* retry: 503, with ``Retry-After`` when the sink sent one;
* permanent failure: 422; the sink answered 410 or the subscription is gone/disabled: 410.

Error bodies use Blazar's shape. ``GET /healthz`` answers 200 while Redis answers.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

import redis
from aiohttp import web
from cloudevents.core.bindings import http

from blazar_events.errors import BlazarEventsError, NotFound
from blazar_events.settings import RedisSettings
from blazar_events.store import SubscriptionStore
from delivery.client import Sender
from delivery.outcomes import Delivered, Gone, Outcome, Retry, to_name
from delivery.request import Payload, from_subscription
from delivery.settings import DeliverySettings
from functions.settings import FunctionSettings
from functions.subscribers import Subscribers

log = logging.getLogger(__name__)

MAX_EVENT_BYTES = 1024 * 1024


def _error(status: int, name: str, message: str, **headers: str) -> web.Response:
    body = {"error_code": status, "error_name": name, "error_message": message}
    return web.json_response(body, status=status, headers=headers)


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


class FunctionService:
    def __init__(self, settings: DeliverySettings, store: SubscriptionStore) -> None:
        self.settings = settings
        self.subscribers = Subscribers(store)
        self.sender: Sender | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_EVENT_BYTES)
        # The path every rendered Trigger calls (blazar_events.triggers.to_trigger).
        app.router.add_post("/subscriptions/{subscription_id}", self.deliver)
        app.router.add_get("/healthz", self.health)
        app.on_startup.append(self._open)
        app.on_cleanup.append(self._close)
        return app

    async def _open(self, _app: web.Application) -> None:
        self.sender = Sender(self.settings)

    async def _close(self, _app: web.Application) -> None:
        if self.sender is not None:
            await self.sender.close()

    async def health(self, _request: web.Request) -> web.Response:
        try:
            await asyncio.to_thread(self.subscribers.store.ping)
        except BlazarEventsError as exc:
            return _error(503, "ServiceUnavailable", exc.message)
        return web.json_response({"status": "ok"})

    async def deliver(self, request: web.Request) -> web.Response:
        assert self.sender is not None
        sub_id = request.match_info["subscription_id"]
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
        number = await asyncio.to_thread(self.subscribers.count_attempt, sub_id, event.get_id())
        attempt = await self.sender.attempt(from_subscription(sub), Payload(event), secrets, number)
        log.info(
            "subscription %s event %s attempt %d: %s",
            sub_id, event.get_id(), number, to_name(attempt.outcome),
        )  # fmt: skip
        try:
            await asyncio.to_thread(
                self.subscribers.record, sub_id, attempt, event.get_id(), event.get_type()
            )
        except BlazarEventsError as exc:  # the log is best effort; the delivery happened
            log.warning("delivery log of %s not written: %s", sub_id, exc.message)
        return to_response(attempt.outcome)


def to_store(settings: RedisSettings) -> SubscriptionStore:
    client: Any = redis.Redis.from_url(
        settings.url.get_secret_value(), socket_timeout=5, socket_connect_timeout=5
    )
    return SubscriptionStore(client, settings.key_prefix)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="blazar-events function", description=__doc__)
    parser.add_argument("--host", help="listen address (default: settings)")
    parser.add_argument("--port", type=int, help="listen port (default: settings)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = FunctionSettings.load()
    delivery = DeliverySettings.load()
    service = FunctionService(delivery, to_store(RedisSettings.load()))
    host, port = args.host or settings.host, args.port or settings.port
    log.info("delivery function on http://%s:%d/subscriptions/{subscription_id}", host, port)
    web.run_app(
        service.app(), host=host, port=port, access_log=None, print=None,
        handle_signals=True, shutdown_timeout=delivery.default_timeout,
    )  # fmt: skip
    return 0
