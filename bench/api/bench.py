"""Latency of the subscriptions API under gunicorn (2 workers) on the local stack's Redis.

    .venv/bin/python bench/api/bench.py [--rate 100] [--seconds 30] [--stored 100000]

Open loop: requests leave on a fixed schedule (``--rate`` per second) whether or not earlier
ones have answered, and latency is measured from the scheduled time, so a stall shows up in
the tail instead of slowing the load down (no coordinated omission). Phases:

1. create: POST /v1/subscriptions at ``--rate``;
2. get: GET /v1/subscriptions/{id} at ``--rate`` over the ids just created;
3. list: ``--stored`` subscriptions stored in one project (the worst case for its index),
   then GET /v1/subscriptions?limit=50 at ``--rate`` with a random marker each time.

Everything lives under a fresh Redis key prefix that is deleted at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from blazar_events.store import SubscriptionStore
from blazar_events.subscription import Subscription, from_input
from stack.layout import REDIS_URL

HEADERS = {"X-Project-Id": "bench-project", "X-User-Id": "bench", "X-Roles": "member"}
SINK = "http://10.0.0.1:8217/"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_api(prefix: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "BLAZAR_EVENTS_REDIS_URL": REDIS_URL,
        "BLAZAR_EVENTS_REDIS_KEY_PREFIX": prefix,
        "BLAZAR_EVENTS_API_AUTH_STRATEGY": "noauth",
        "BLAZAR_EVENTS_EGRESS_ALLOWED_NETWORKS": "10.0.0.0/8",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "blazar_events.cli", "api", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the API did not start")


class Load:
    """An open-loop load generator: ``threads`` keep-alive connections take requests off a
    schedule; each latency counts from the scheduled time, not from when a thread was free."""

    def __init__(self, port: int, threads: int = 16) -> None:
        self.port = port
        self.threads = threads

    def run(
        self, rate: float, seconds: float, request: Callable[[int], tuple[str, str, bytes | None]]
    ) -> tuple[list[float], int]:
        jobs: queue.Queue[int | None] = queue.Queue()
        latencies: list[float] = []
        errors = [0]
        lock = threading.Lock()
        start = time.perf_counter() + 0.2

        def worker() -> None:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            while (n := jobs.get()) is not None:
                scheduled = start + n / rate
                time.sleep(max(0.0, scheduled - time.perf_counter()))
                method, path, body = request(n)
                headers = {**HEADERS, "Content-Type": "application/json"} if body else HEADERS
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                elapsed = (time.perf_counter() - scheduled) * 1000
                with lock:
                    latencies.append(elapsed)
                    if not 200 <= response.status < 300:
                        errors[0] += 1
                after(n, response.status, payload)
            connection.close()

        after = getattr(request, "after", lambda n, status, payload: None)
        pool = [threading.Thread(target=worker, daemon=True) for _ in range(self.threads)]
        for n in range(int(rate * seconds)):
            jobs.put(n)
        for _ in pool:
            jobs.put(None)
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        return latencies, errors[0]


def summary(name: str, latencies: list[float], errors: int) -> dict[str, object]:
    ordered = sorted(latencies)
    return {
        "phase": name,
        "requests": len(ordered),
        "errors": errors,
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 2),
        "max_ms": round(ordered[-1], 2),
    }


def fill(store: SubscriptionStore, count: int) -> list[str]:
    """Store ``count`` subscriptions in one project, in pipelined batches.

    The same records and index entries ``store.create`` writes (change feed and keys left
    out: listing reads neither), 1,000 per round trip so 100,000 take seconds, not minutes.
    """
    spec = from_input({"sink": SINK, "types": ["lease.event.start_lease"]})
    ids = []
    pipe = store.client.pipeline(transaction=False)
    for n in range(count):
        sub = Subscription.from_input(spec, project_id="bench-project")
        ids.append(sub.id)
        pipe.set(store._sub_key(sub.id), sub.model_dump_json())
        for index in store._indexes(sub):
            pipe.zadd(index, {sub.id: 0})
        if n % 1000 == 999:
            pipe.execute()
    pipe.execute()
    return ids


def settle(client: redis.Redis, timeout: float = 120.0) -> None:
    """Wait until Redis has written the fill to disk (the stack runs it with AOF and RDB
    snapshots), so the list phase measures listing, not the fill's fork and rewrite."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info: dict[str, Any] = client.info("persistence")  # type: ignore[assignment]
        busy = ("rdb_bgsave_in_progress", "aof_rewrite_in_progress", "aof_rewrite_scheduled")
        if not any(info.get(flag) for flag in busy):
            break
        time.sleep(0.5)
    time.sleep(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--stored", type=int, default=100_000)
    args = parser.parse_args()

    prefix = f"blazar-events-bench-{uuid.uuid4().hex[:8]}"
    port = free_port()
    process = start_api(prefix, port)
    client = redis.Redis.from_url(REDIS_URL)
    results = []
    load = Load(port)
    try:
        created: list[str] = []
        body = json.dumps({"sink": SINK}).encode()

        def create(n: int) -> tuple[str, str, bytes | None]:
            return "POST", "/v1/subscriptions", body

        def remember(n: int, status: int, payload: bytes) -> None:
            if status == 201:
                created.append(json.loads(payload)["id"])

        create.after = remember  # type: ignore[attr-defined]
        results.append(summary("create", *load.run(args.rate, args.seconds, create)))

        def get(n: int) -> tuple[str, str, bytes | None]:
            return "GET", f"/v1/subscriptions/{created[n % len(created)]}", None

        results.append(summary("get", *load.run(args.rate, args.seconds, get)))

        started = time.perf_counter()
        ids = created + fill(SubscriptionStore(client, prefix), args.stored - len(created))
        fill_seconds = time.perf_counter() - started
        settle(client)
        markers = [random.choice(ids) for _ in range(int(args.rate * args.seconds))]

        def page(n: int) -> tuple[str, str, bytes | None]:
            return "GET", f"/v1/subscriptions?limit=50&marker={markers[n]}", None

        listed = summary(f"list 50 of {len(ids)}", *load.run(args.rate, args.seconds, page))
        listed["fill_seconds"] = round(fill_seconds, 1)
        results.append(listed)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)
        for key in client.scan_iter(match=f"{prefix}*", count=5000):
            client.delete(key)
    report = {
        "rate": args.rate,
        "seconds": args.seconds,
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "results": results,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
