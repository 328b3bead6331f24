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

from kafka import KafkaConsumer, KafkaProducer

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
        self.producer = KafkaProducer(**kafka.client_options(), acks="all", max_block_ms=10_000)

    def send_all(self, records: list[KafkaRecord]) -> None:
        futures = [
            self.producer.send(self.topic, key=r.key, value=r.value, headers=list(r.headers))
            for r in records
        ]
        self.producer.flush(timeout=self.timeout)
        for future in futures:
            future.get(timeout=self.timeout)  # raises if Kafka refused one: claims then lapse

    def close(self) -> None:
        self.producer.close(timeout=5)


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
        consumer = KafkaConsumer(
            self.kafka.topic, **self.kafka.client_options(), group_id=self.settings.group_id,
            enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=500,
            metadata_max_age_ms=5000,  # a topic created after the start is seen within seconds
        )  # fmt: skip
        try:
            assigned = False
            while not stop.is_set():
                batches = consumer.poll(timeout_ms=500)
                if not assigned and consumer.assignment():
                    assigned = True
                    log.info("lease events: partitions %s assigned",
                             sorted(p.partition for p in consumer.assignment()))  # fmt: skip
                for records in batches.values():
                    for record in records:
                        self._apply(record)
                if batches:
                    consumer.commit()  # after Redis has every record's result
                    log.info("lease events applied; outcomes so far: %s",
                             dict(self.scheduler.outcomes))  # fmt: skip
        finally:
            consumer.close()

    def _apply(self, record: Any) -> None:
        try:
            event = from_record(record.key, record.value, record.headers or [])
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
