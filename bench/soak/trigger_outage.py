"""The stand-in Trigger dispatcher while Kafka restarts: how many events does it send twice?

    .venv/bin/python -u bench/soak/trigger_outage.py --down 20    # needs `blazar-events stack up`

Where the long soak's function-lane repeats came from, reproduced without touching the
shared services: a private single-node Kafka (kafka_outage.py's), ``--events`` records
produced at ``--rate`` to a 6-partition topic, the soak's stand-in dispatcher
(dispatcher.py) POSTing them to a sink that takes ``--work`` seconds per request, as the
function service does. After ``--before`` seconds Kafka is stopped for ``--down`` seconds
(the group's session expires, commits fail) and started again; at the end it prints how
many events arrived, how many twice, and the dispatcher's own account.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import confluent_kafka
import confluent_kafka.admin
from aiohttp import web
from dispatcher import Dispatcher
from kafka_outage import PrivateKafka, say
from sinks import free_port
from workload import PREFIX


class CountingSink:
    """Answers 202 after ``work`` seconds; counts each ``ce-id``."""

    def __init__(self, work: float) -> None:
        self.work, self.port, self.seen = work, free_port(), Counter[str]()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/", self._take)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()

    async def _take(self, request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(self.work)
        self.seen[request.headers.get("ce-id", "")] += 1
        return web.Response(status=202)


def produce(bootstrap: str, topic: str, count: int, rate: float, stop: threading.Event) -> None:
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "log_level": 0,
                                         "message.timeout.ms": 300_000})  # fmt: skip
    started = time.monotonic()
    for n in range(count):
        if stop.is_set():
            break
        delay = started + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        headers = [("ce_id", str(n)), ("ce_type", PREFIX + "lease.event.end_lease"),
                   ("ce_source", "/bench"), ("ce_specversion", "1.0"),
                   ("content-type", "application/json")]  # fmt: skip
        producer.produce(topic, b"{}", key=str(n % 97).encode(), headers=headers)
        producer.poll(0)
    producer.flush(300)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=6000)
    parser.add_argument("--rate", type=float, default=60.0)
    parser.add_argument("--work", type=float, default=0.02, help="seconds per request")
    parser.add_argument("--before", type=float, default=30.0)
    parser.add_argument("--down", type=float, default=20.0)
    parser.add_argument("--timeout", type=float, default=600.0, help="to deliver them all")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="blazar-events-trigger-outage-"))
    topic = f"blazar.events.trigger-{uuid.uuid4().hex[:8]}"
    kafka = PrivateKafka(folder)
    kafka.start()
    admin = confluent_kafka.admin.AdminClient({"bootstrap.servers": kafka.bootstrap})
    admin.create_topics([confluent_kafka.admin.NewTopic(topic, 6, 1)])[topic].result()
    sink = CountingSink(args.work)
    stop = threading.Event()
    dispatcher = Dispatcher(kafka.bootstrap, topic, topic + "-trigger",
                            f"http://127.0.0.1:{sink.port}/", lambda _note: True)  # fmt: skip
    work = (kafka.bootstrap, topic, args.events, args.rate, stop)
    producer = threading.Thread(target=produce, args=work, daemon=True)
    try:
        dispatcher.start()
        producer.start()
        time.sleep(args.before)
        say(f"stopping Kafka; {len(sink.seen):,} events delivered so far")
        kafka.stop()
        time.sleep(args.down)
        kafka.start()
        say("Kafka answers again")
        deadline = time.monotonic() + args.timeout
        while len(sink.seen) < args.events and time.monotonic() < deadline:
            time.sleep(2)
        time.sleep(10)  # late repeats would arrive now
    finally:
        stop.set()
        dispatcher.close()
        kafka.stop()
    twice = sum(n - 1 for n in sink.seen.values())
    say(f"{args.events:,} produced at {args.rate:g}/s, Kafka stopped {args.down:g} s after"
        f" {args.before:g} s: {len(sink.seen):,} delivered, {args.events - len(sink.seen):,}"
        f" missing, {twice:,} repeats ({100 * twice / max(len(sink.seen), 1):.2f} %)")  # fmt: skip
    say(f"dispatcher: {getattr(dispatcher, 'posted', '?')} posted, revokes"
        f" {getattr(dispatcher, 'revokes', '?')}, skipped {getattr(dispatcher, 'skipped', '?')},"
        f" failed commits {getattr(dispatcher, 'commit_failures', '?')}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
