"""``blazar-events reminders``: the reminder scheduler process, for both modes.

It reads lease events from ``[kafka] topic`` (its own consumer group) and writes reminders
back to the same topic as addressed events, so the standalone broker and Knative Triggers
route them like any other. Three supervised threads: ``subscriptions`` (follows the store),
``lease-events`` (Kafka -> schedule; offsets committed only after Redis has the result) and
``firing`` (schedule -> Kafka). A thread that crashes is restarted after a backoff and shown
on ``/healthz`` meanwhile. One replica is enough (Redis claims keep a second one from sending
the same entry at the same time); SIGTERM or SIGINT stop it.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message

from blazar_events import kafkaproducer
from blazar_events.cli import run_component
from blazar_events.errors import BlazarEventsError
from blazar_events.records import KafkaRecord, from_record
from blazar_events.redis_clients import to_redis
from blazar_events.settings import EventSettings, KafkaSettings, RedisSettings
from blazar_events.store import SubscriptionStore
from reminders.registry import Registry
from reminders.schedule import Schedule
from reminders.scheduler import Scheduler
from reminders.settings import ReminderSettings

log = logging.getLogger("reminders")
STABLE = 30.0  # seconds a restarted task must run before it counts as well again


class KafkaSender:
    def __init__(self, kafka: KafkaSettings, timeout: float) -> None:
        self.topic, self.timeout = kafka.topic, timeout
        self.producer = kafkaproducer.new_producer(
            {
                **kafka.librdkafka_config(),
                "client.id": "blazar-events-reminders",
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 0,
                "delivery.timeout.ms": int(timeout * 1000),
            }
        )

    def send_all(self, records: list[KafkaRecord]) -> None:
        # Raises if Kafka refused one or did not confirm in time: the claims then lapse.
        kafkaproducer.produce_all(self.producer, self.topic, records, self.timeout)

    def close(self) -> None:
        kafkaproducer.discard(self.producer, timeout=5)


def to_headers(message: Message) -> list[tuple[str, bytes]]:
    raw = message.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    return [(n, v.encode() if isinstance(v, str) else v or b"") for n, v in pairs]


class Task:
    """One supervised thread: ``body`` runs until stop; a crash restarts it after a backoff."""

    def __init__(self, name: str, body: Callable[[threading.Event], None]) -> None:
        self.name, self.body = name, body
        self.crashes, self.error, self.since = 0, "", time.monotonic()
        self.thread = threading.Thread(target=self._run, args=(), name=name, daemon=True)
        self.stopping = threading.Event()

    def _run(self) -> None:
        while not self.stopping.is_set():
            self.since = time.monotonic()
            try:
                self.body(self.stopping)
                self.error = ""
            except Exception as exc:
                self.since = time.monotonic()
                self.crashes += 1
                self.error = f"{type(exc).__name__}: {exc}"[:300]
                log.warning("task %s crashed (%s); restarting", self.name, self.error)
                self.stopping.wait(min(30.0, 0.5 * 2 ** min(self.crashes, 6)))

    def state(self) -> dict[str, Any]:
        """``failing`` while the last crash is recent: a task that has run for STABLE seconds
        since its restart is well again (its last error stays visible)."""
        recent = bool(self.error) and time.monotonic() - self.since < STABLE
        return {"alive": self.thread.is_alive(), "failing": recent, "crashes": self.crashes,
                "error": self.error}  # fmt: skip


class Service:
    def __init__(self, settings: ReminderSettings, kafka: KafkaSettings) -> None:
        redis_settings = RedisSettings.load()
        client: Any = to_redis(redis_settings)
        self.settings, self.kafka = settings, kafka
        self.store = SubscriptionStore(client, redis_settings.key_prefix)
        self.schedule = Schedule(client, redis_settings.key_prefix)
        self.registry = Registry()
        self.ready = threading.Event()  # the registry is loaded: firing may start
        source = EventSettings.load().source_prefix.rstrip("/") + "/reminders"
        self.sender: KafkaSender | None = None
        self.scheduler = Scheduler(
            self.schedule, self.registry, self, source,
            lapse=settings.claim_lapse, batch=settings.batch,
        )  # fmt: skip
        self.tasks = [
            Task("subscriptions", self.follow_subscriptions),
            Task("lease-events", self.consume),
            Task("firing", self.fire),
        ]

    def send_all(self, records: list[KafkaRecord]) -> None:
        if self.sender is None:
            self.sender = KafkaSender(self.kafka, self.settings.send_timeout)
        try:
            self.sender.send_all(records)
        except Exception:
            sender, self.sender = self.sender, None  # rebuilt on the next batch
            sender.close()
            raise

    def follow_subscriptions(self, stop: threading.Event) -> None:
        last = self.store.last_change_id()
        self.registry.replace_all(self.store.all())
        self.scheduler.sync_leads()
        self.ready.set()
        log.info("%d subscription(s) with reminders", len(self.registry))
        while not stop.is_set():
            changes = self.store.changes(last, block_ms=500)
            for stream_id, op, sub_id in changes:
                last = stream_id
                if op == "deleted":
                    self.registry.remove(sub_id)
                    continue
                try:
                    self.registry.put(self.store.get(sub_id))
                except BlazarEventsError:  # gone meanwhile (NotFound), or unreadable
                    self.registry.remove(sub_id)
            if changes:
                self.scheduler.sync_leads()

    def consume(self, stop: threading.Event) -> None:
        self.ready.wait()  # lead times must be known before a lease is scheduled
        consumer = Consumer(
            {
                **self.kafka.librdkafka_config(),
                "group.id": self.settings.group_id,
                "client.id": "blazar-events-reminders",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                # A topic created after the start is seen within seconds.
                "topic.metadata.refresh.interval.ms": 5000,
            }
        )
        try:
            self._ask_for_topic()
            consumer.subscribe([self.kafka.topic])
            assigned = False
            while not stop.is_set():
                messages = consumer.consume(500, 0.5)
                if not assigned and consumer.assignment():
                    assigned = True
                    log.info("lease events: partitions %s assigned",
                             sorted(p.partition for p in consumer.assignment()))  # fmt: skip
                applied = 0
                for message in messages:
                    if message.error() is not None:  # e.g. the topic is not there yet
                        log.debug("lease events: %s", message.error())
                        continue
                    self._apply(message)
                    applied += 1
                if applied:
                    consumer.commit(asynchronous=False)  # after Redis has every result
                    log.info("lease events applied; outcomes so far: %s",
                             dict(self.scheduler.outcomes))  # fmt: skip
        finally:
            consumer.close()

    def _ask_for_topic(self) -> None:
        # librdkafka's consumer never has Kafka create a topic it subscribes to (kafka-python's
        # did, and in the standalone pipeline the first reader of the events topic creates
        # it where the broker auto-creates topics). A producer's metadata request does.
        producer = kafkaproducer.new_producer(self.kafka.librdkafka_config())
        try:
            producer.list_topics(self.kafka.topic, timeout=10)
        except KafkaException as exc:
            log.warning("lease events: no metadata for %s yet: %s", self.kafka.topic, exc)
        finally:
            producer.close()

    def _apply(self, message: Message) -> None:
        value = message.value()
        try:
            if not isinstance(value, bytes):  # a tombstone, or nothing a CloudEvent fits in
                raise BlazarEventsError("the record has no value")
            event = from_record(message.key(), value, to_headers(message))
        except BlazarEventsError:
            self.scheduler.outcomes["invalid-record"] += 1
            return
        self.scheduler.apply(event)  # Redis errors propagate: the batch is read again

    def fire(self, stop: threading.Event) -> None:
        if self.sender is None:  # connected before anything is due, not when it is
            self.sender = KafkaSender(self.kafka, self.settings.send_timeout)
        self.ready.wait()
        pruned_at = 0.0
        while not stop.is_set():
            claimed = self.scheduler.fire()
            if time.monotonic() - pruned_at > 60:
                before = datetime.now().astimezone() - timedelta(
                    seconds=self.settings.tombstone_retention
                )
                self.schedule.prune_tombstones(before)
                pruned_at = time.monotonic()
            if claimed < self.settings.batch:
                stop.wait(self.settings.tick)

    def health(self) -> tuple[bool, dict[str, Any]]:
        tasks = {t.name: t.state() for t in self.tasks}
        healthy = all(s["alive"] and not s["failing"] for s in tasks.values())
        body: dict[str, Any] = {"status": "ok" if healthy else "failing", "tasks": tasks,
                                "ready": self.ready.is_set(),
                                "outcomes": dict(self.scheduler.outcomes)}  # fmt: skip
        try:
            body["schedule"] = self.schedule.counts()
        except Exception as exc:
            healthy, body["schedule"] = False, f"unavailable: {type(exc).__name__}"
        return healthy, body

    def start(self) -> None:
        for task in self.tasks:
            task.thread.start()

    def stop(self) -> None:
        for task in self.tasks:
            task.stopping.set()
        self.ready.set()
        for task in self.tasks:
            task.thread.join(timeout=15)
        if self.sender is not None:
            self.sender.close()


def serve(service: Service, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != "/healthz":
                self.send_error(404)
                return
            healthy, body = service.health()
            data = json.dumps(body).encode()
            self.send_response(200 if healthy else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("http %s", format % args)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="reminders-http", daemon=True).start()
    return server


def main(argv: list[str]) -> int:
    return run_component(
        argv,
        prog="blazar-events reminders",
        description=__doc__,
        section=ReminderSettings,
        port_help="health port (default: settings)",
        run=start,
    )


def start(settings: ReminderSettings, port: int | None) -> int:
    service = Service(settings, KafkaSettings.load())
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    service.start()
    server = serve(service, settings.host, port if port is not None else settings.port)
    log.info("health on http://%s:%d/healthz", settings.host, server.server_address[1])
    stop.wait()
    log.info("stopping")
    service.stop()
    server.shutdown()
    return 0
