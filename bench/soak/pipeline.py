"""The soak's private pipeline on the shared local stack: names, processes, subscriptions,
the supervisor, the drain and the clean-up (the faults: faults.py).
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import kombu
import redis
from chaos import Timeline
from components import Component
from dispatcher import Dispatcher
from publisher import Published
from report import Update, expected_for
from sinks import Sinks, free_port
from workload import PREFIX, SubDef

from blazar_events.delivery_spec import from_iso_duration
from blazar_events.store import SubscriptionStore
from blazar_events.subscription import DeliverySpec, SigningKeys, Subscription
from blazar_events.triggers import DELIVER_ROUTE, TOKEN_PARAMETER, to_token, to_trigger_timeout
from stack import registry
from stack.kafka import create_topics, delete_topics
from stack.layout import AMQP_URL, KAFKA_BOOTSTRAP, REDIS_URL, TRANSPORT_URL

PARTITIONS = 6  # as `blazar-events stack up` creates blazar.events
WAIT = 120.0
# Every subscription: enough linear retries to outlast any outage of the schedule (1+2+...
# seconds: 100 retries span more than an hour), a 10 s attempt timeout.
DELIVERY = {"retry": 100, "backoffPolicy": "linear", "backoffDelay": "PT1S", "timeout": "PT10S"}
NEEDED = ("redis", "rabbitmq", "kafka")
# The key the operator makes the Triggers' capability tokens with; the function checks them.
TOKEN_KEY = "soak-function-token-key-at-least-32-bytes"


class Soak:
    def __init__(self, seed: int) -> None:
        self.tag = f"soak-{uuid.uuid4().hex[:8]}"
        self.seed = seed
        self.logs = Path(tempfile.mkdtemp(prefix=f"blazar-events-{self.tag}-"))
        self.transport_url = TRANSPORT_URL
        self.exchange = f"openstack-{self.tag}"
        # Blazar's [oslo_messaging_notifications] topics: with amqp_durable_queues the driver
        # declares its own durable <topic>.info queue, which must not be the shared stack's
        # non-durable notifications.info (a 406 and every notification dropped).
        self.notify_topic = f"notifications-{self.tag}"
        self.topic = f"blazar.events.{self.tag}"
        self.prefix = f"blazar-events-{self.tag}"
        self.fn_prefix = f"{self.prefix}-knative"  # the function lane's own store
        self.api_port, self.fn_port = free_port(), free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        config = self.logs / "blazar-events.conf"
        config.write_text("")  # the environment carries everything
        self.env = {
            "BLAZAR_EVENTS_CONFIG_FILE": str(config),
            "BLAZAR_EVENTS_REDIS_URL": REDIS_URL,
            "BLAZAR_EVENTS_REDIS_KEY_PREFIX": self.prefix,
            "BLAZAR_EVENTS_KAFKA_BOOTSTRAP_SERVERS": KAFKA_BOOTSTRAP,
            "BLAZAR_EVENTS_KAFKA_TOPIC": self.topic,
            "BLAZAR_EVENTS_KAFKA_REJECTED_TOPIC": self.topic + ".rejected",
            "BLAZAR_EVENTS_KAFKA_DLQ_TOPIC": self.topic + ".dlq",
            "BLAZAR_EVENTS_BRIDGE_TRANSPORT_URL": TRANSPORT_URL,
            "BLAZAR_EVENTS_BRIDGE_EXCHANGE": self.exchange,
            "BLAZAR_EVENTS_BRIDGE_EXCHANGE_DURABLE": "true",  # docs/bridge.md, across restarts
            "BLAZAR_EVENTS_BRIDGE_POOL": self.tag,
            "BLAZAR_EVENTS_BRIDGE_TOPICS": self.notify_topic,
            "BLAZAR_EVENTS_BRIDGE_PORT": "0",
            "BLAZAR_EVENTS_BRIDGE_LOG_FORMAT": "text",
            "BLAZAR_EVENTS_BROKER_GROUP_ID": self.tag,
            "BLAZAR_EVENTS_BROKER_PORT": "0",
            "BLAZAR_EVENTS_API_PORT": str(self.api_port),
            "BLAZAR_EVENTS_API_WORKERS": "1",
            "BLAZAR_EVENTS_API_AUTH_STRATEGY": "noauth",
            "BLAZAR_EVENTS_EGRESS_ALLOWED_NETWORKS": "127.0.0.0/8",
            "BLAZAR_EVENTS_API_REQUEST_INTERVAL_SECONDS": "0",
            "BLAZAR_EVENTS_FUNCTION_PORT": str(self.fn_port),
        }
        fn_env = {**self.env, "BLAZAR_EVENTS_REDIS_KEY_PREFIX": self.fn_prefix,
                  "BLAZAR_EVENTS_FUNCTION_TOKEN_KEY": TOKEN_KEY}  # fmt: skip
        self.components = {
            "bridge": Component("bridge", "bridge", self.env, self.logs),
            "broker-1": Component("broker-1", "broker", self.env, self.logs),
            "broker-2": Component("broker-2", "broker", self.env, self.logs),
            "api": Component("api", "api", self.env, self.logs),
            "function": Component("function", "function", fn_env, self.logs),
        }
        self.sub_ids: dict[str, str] = {}
        self.crashes: list[str] = []
        self.dispatcher: Dispatcher | None = None
        self.sink_up = threading.Event()
        self.sink_up.set()
        self.publishing = threading.Event()  # the publisher's: set while it publishes
        self._supervising = threading.Event()
        self.restarting: set[str] = set()
        self._supervisor: threading.Thread | None = None

    # --- start-up -----------------------------------------------------------------------

    def check_services(self) -> None:
        for name in NEEDED:
            try:
                registry.service(name).probe()
            except Exception as exc:
                raise SystemExit(
                    f"{name} does not answer ({exc}): `blazar-events stack up`"
                ) from None

    def prepare(self) -> None:
        create_topics(KAFKA_BOOTSTRAP, {self.topic: PARTITIONS})

    def start_components(self) -> None:
        for name in ("api", "function", "bridge", "broker-1", "broker-2"):
            self.components[name].start()
        self._wait_http(f"{self.api}/healthz", "api")
        self._wait_http(f"http://127.0.0.1:{self.fn_port}/healthz", "function")

    def _wait_http(self, url: str, what: str) -> None:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            component = self.components[what]
            if component.exited() is not None:
                raise SystemExit(f"{what} exited; see {component.log}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            time.sleep(0.3)
        raise SystemExit(f"{what} not ready after {WAIT:g} s; see {self.logs}")

    def _headers(self, project: str) -> dict[str, str]:
        roles = "admin" if project == "*" else "member"
        owner = "50a4000000000000000000000000adm1" if project == "*" else project
        return {"X-Project-Id": owner, "X-User-Id": "50a40000000000000000000000005e40",
                "X-Roles": roles}  # fmt: skip

    def subscribe(self, sub: SubDef, sink: str) -> str:
        """Create ``sub`` (through the API, or in the function lane's store); its secret."""
        delivery = {**DELIVERY, **sub.body.get("delivery", {})}
        if sub.lane == "function":
            store = SubscriptionStore(redis.Redis.from_url(REDIS_URL), self.fn_prefix)
            keys = SigningKeys.generate()
            created = store.create(Subscription(
                name=sub.name, project_id=sub.project, sink=sink,
                types=[PREFIX + t for t in sub.body.get("types", [])],
                delivery=DeliverySpec(**delivery),
            ), keys)  # fmt: skip
            self.sub_ids[sub.name] = created.id
            return keys.current
        body = {**sub.body, "name": sub.name, "sink": sink, "delivery": delivery}
        if sub.project == "*":
            body["project_id"] = "*"
        answer = self.api_call("POST", "/v1/subscriptions", sub.project, body)
        self.sub_ids[sub.name] = answer["id"]
        return str(answer["secret"])

    def api_call(
        self, method: str, path: str, project: str, body: Any = None, patch: bool = False
    ) -> Any:
        """One API call, retried while the API is down (killed by the schedule)."""
        headers = self._headers(project)
        headers["Content-Type"] = "application/merge-patch+json" if patch else "application/json"
        deadline = time.monotonic() + WAIT
        while True:
            try:
                answer = httpx.request(method, self.api + path, headers=headers,
                                       content=None if body is None else _dumps(body),
                                       timeout=10)  # fmt: skip
                if answer.status_code < 500:
                    if answer.status_code >= 300:
                        raise SystemExit(f"{method} {path}: {answer.status_code} {answer.text}")
                    return answer.json()
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{method} {path}: the API did not answer for {WAIT:g} s")
            time.sleep(0.5)

    def start_dispatcher(self, sub: SubDef) -> None:
        # The subscriber URI a rendered Trigger carries: the path and the capability token.
        sub_id = self.sub_ids[sub.name]
        token = to_token(TOKEN_KEY.encode(), sub_id, DELIVER_ROUTE)
        url = f"http://127.0.0.1:{self.fn_port}/subscriptions/{sub_id}?{TOKEN_PARAMETER}={token}"
        # The Trigger's delivery spec is the subscription's (blazar_events.triggers.to_delivery).
        spec = DeliverySpec(**{**DELIVERY, **sub.body.get("delivery", {})})
        self.dispatcher = Dispatcher(
            KAFKA_BOOTSTRAP, self.topic, self.tag + "-trigger", url,
            lambda n: sub.in_project(n) and sub.matches(n),
            retry=spec.retry, backoff=spec.backoff_for,
            timeout=from_iso_duration(to_trigger_timeout(spec.timeout_seconds)),
        )  # fmt: skip
        self.dispatcher.start()

    def wait_ready(self) -> None:
        """Until the bridge's queue is bound: published before that, a message routes nowhere."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception), kombu.Connection(AMQP_URL) as conn:
                conn.channel().queue_declare(self.tag, passive=True)
                return
            time.sleep(0.5)
        raise SystemExit(f"the bridge's queue {self.tag} never appeared; see {self.logs}")

    def supervise(self, timeline: Timeline, bridge_ready: Callable[[], tuple[bool, str]]) -> None:
        """As systemd's Restart=on-failure would: a component that exits by itself (not killed
        by the schedule) is started again, and that is reported as a finding."""

        def loop() -> None:
            unready: tuple[float, str] | None = None  # since when, and why
            ticks = 0
            while not self._supervising.wait(1.0):
                for name, component in self.components.items():
                    code = component.exited()
                    if code is not None and name not in self.restarting:
                        self.crashes.append(f"{name} exit {code} at {time.time():.0f}")
                        timeline.record(time.time(), f"EXITED {name}", f"code {code}; restarted")
                        component.start()
                ticks += 1
                if ticks % 5 or "bridge" in self.restarting:
                    continue
                # The bridge's own view, so a stall shows in the timeline where it began.
                ready, why = bridge_ready()
                if not ready and unready is None:
                    unready = (time.time(), why)
                elif ready and unready is not None:
                    if time.time() - unready[0] > 15:
                        timeline.record(unready[0], "bridge not ready", unready[1])
                    unready = None
            if unready is not None:
                timeline.record(unready[0], "bridge not ready", unready[1] + " (until the end)")

        self._supervisor = threading.Thread(target=loop, name="supervisor", daemon=True)
        self._supervisor.start()

    def stop_supervising(self) -> None:
        self._supervising.set()
        if self._supervisor is not None:
            self._supervisor.join(30)

    def wait_sink_up(self) -> None:
        self.sink_up.wait()

    # --- the end ------------------------------------------------------------------------

    def drain(
        self,
        sinks: Sinks,
        subs: list[SubDef],
        published: Published,
        update: Update,
        timeout: float,
        quiet: float,
    ) -> str:
        """Wait until every expected delivery arrived, or nothing new came for ``quiet`` s."""
        must = {
            sub.name: expected_for(sub, published.notes, published.sent_at, update)[0]
            for sub in subs
        }
        total = sum(len(seqs) for seqs in must.values())
        started = last_change = time.monotonic()
        last = -1
        while True:
            done = 0
            for sub in subs:
                got = {h.seq for h in list(sinks.sinks[sub.name].hits) if 200 <= h.status < 300}
                done += len(must[sub.name] & got)
            now = time.monotonic()
            if done != last:
                last, last_change = done, now
            if done >= total:
                time.sleep(5)  # late duplicates or strays would arrive now
                return f"complete: {done:,}/{total:,} after {now - started:.0f} s"
            if now - last_change > quiet:
                return f"STALLED: {done:,}/{total:,}, nothing new for {quiet:g} s"
            if now - started > timeout:
                return f"TIMEOUT: {done:,}/{total:,} after {timeout:g} s"
            time.sleep(2)

    def dispatcher_summary(self) -> str:
        if self.dispatcher is None:
            return "not started"
        d = self.dispatcher
        return (f"{d.posted:,} events accepted by the function service, {d.retries:,} retried"
                f" calls, {len(d.dead_lettered)} dead-lettered {d.dead_lettered[:3]};"
                f" {d.revokes} revokes, {d.skipped:,} records skipped as answered before one,"
                f" {d.commit_failures} failed commits")  # fmt: skip

    def teardown(self, keep: bool) -> None:
        self.stop_supervising()
        if self.dispatcher is not None:
            with contextlib.suppress(Exception):
                self.dispatcher.close()
        for component in self.components.values():
            component.stop()
        if keep:
            return
        with contextlib.suppress(Exception), kombu.Connection(AMQP_URL) as conn:
            channel = conn.channel()
            channel.queue_delete(self.tag)
            channel.queue_delete(self.notify_topic + ".info")
            channel.exchange_delete(self.exchange)
        with contextlib.suppress(Exception):
            client = redis.Redis.from_url(REDIS_URL)
            for key in client.scan_iter(match=f"{self.prefix}*", count=1000):
                client.delete(key)
        with contextlib.suppress(Exception):
            delete_topics(KAFKA_BOOTSTRAP, [self.topic + s for s in ("", ".rejected", ".dlq")])


def _dumps(body: Any) -> bytes:
    import json

    return json.dumps(body).encode()
