"""Function service benchmark: what receipts cost (functions/receipts.py), in the same run.

    .venv/bin/python bench/function/run.py --events 2000 --rounds 5   # needs `stack up`

The function service (in this process, on a loopback port) in front of a local sink and the
stack's Redis; Knative is a client POSTing ``--concurrency`` events at a time, each a new
record. Rounds alternate receipts off and on (the same service otherwise); each prints
deliveries/s, and the summary gives the median of the paired ratios (on / off). Then one
pass of retries of events already delivered (answered from the receipt, nothing sent), and
Redis memory per receipt.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid

import aiohttp
import redis
from aiohttp import web
from cloudevents.core.bindings import http
from cloudevents.core.v1.event import CloudEvent

from blazar_events.store import SubscriptionStore
from blazar_events.subscription import SigningKeys, Subscription
from blazar_events.triggers import DELIVER_ROUTE, TOKEN_PARAMETER, to_token
from delivery.settings import DeliverySettings
from functions.receipts import Receipts
from functions.service import FunctionService
from stack.layout import REDIS_URL
from stack.sink import Sink

KEY = b"bench-function-token-key-at-least-32-bytes"
PROJECT = "aa45f56901ef45ee95e3d211097c0ea3"


def to_event(n: int, tag: str) -> tuple[dict[str, str], bytes]:
    event = CloudEvent({
        "id": f"{tag}-{n}", "source": "/openstack/blazar/bench", "specversion": "1.0",
        "type": "org.openstack.blazar.lease.event.end_lease", "projectid": PROJECT,
        "knativekafkatopic": "blazar.events", "knativekafkapartition": str(n % 6),
        "knativekafkaoffset": str(n),
    }, {"lease_id": "x"})  # fmt: skip
    message = http.to_binary_event(event)
    return dict(message.headers), message.body


async def deliver(url: str, events: list[tuple[dict[str, str], bytes]], concurrency: int) -> float:
    """Seconds to have every event answered 2xx."""
    queue = list(reversed(events))
    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            while queue:
                headers, body = queue.pop()
                async with session.post(url, data=body, headers=headers) as answer:
                    if answer.status != 202:
                        raise SystemExit(f"the function answered {answer.status}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started


async def one_round(store: SubscriptionStore, sink: Sink, receipts: Receipts, n: int,
                    concurrency: int, retries: bool) -> tuple[float, float | None]:  # fmt: skip
    keys = SigningKeys.generate()
    sub = Subscription(project_id=PROJECT, sink=sink.url("hook"))
    store.create(sub, keys)
    settings = DeliverySettings.load()
    service = FunctionService(settings, store, KEY, receipts=receipts)
    runner = web.AppRunner(service.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    token = to_token(KEY, sub.id, DELIVER_ROUTE)
    url = f"http://127.0.0.1:{port}/subscriptions/{sub.id}?{TOKEN_PARAMETER}={token}"
    try:
        events = [to_event(i, uuid.uuid4().hex) for i in range(n)]
        seconds = await deliver(url, events, concurrency)
        again = await deliver(url, events, concurrency) if retries else None
        return n / seconds, (None if again is None else n / again)
    finally:
        await runner.cleanup()
        store.delete(sub.id)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    os.environ["BLAZAR_EVENTS_EGRESS_ALLOWED_NETWORKS"] = "127.0.0.0/8"  # the local sink
    prefix = f"bench-function-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(REDIS_URL)
    store = SubscriptionStore(client, prefix)
    on, off = Receipts(store.keys), Receipts(store.keys, window=0)
    ratios: list[float] = []
    with Sink() as sink:
        try:
            for index in range(args.rounds):
                rates = {}
                for name, receipts in (("off", off), ("on", on))[:: 1 if index % 2 else -1]:
                    rates[name], _ = asyncio.run(one_round(store, sink, receipts, args.events,
                                                           args.concurrency, False))  # fmt: skip
                ratios.append(rates["on"] / rates["off"])
                print(f"round {index + 1}: receipts off {rates['off']:,.0f}/s, on"
                      f" {rates['on']:,.0f}/s, ratio {ratios[-1]:.3f}", flush=True)  # fmt: skip
            first, again = asyncio.run(one_round(store, sink, on, args.events, args.concurrency,
                                                 True))  # fmt: skip
            memory = [client.memory_usage(k) or 0 for k in client.scan_iter(f"{prefix}:fn:rec*")]
        finally:
            for key in client.scan_iter(match=f"{prefix}*", count=1000):
                client.delete(key)
    print(
        f"median ratio, receipts on / off: {statistics.median(ratios):.3f}"
        f" ({args.rounds} rounds of {args.events:,} events, concurrency {args.concurrency})"
    )
    print(
        f"retries of delivered events, answered from the receipt: {again or 0:,.0f}/s"
        f" (first deliveries in that pass: {first:,.0f}/s)"
    )
    if memory:
        print(
            f"Redis memory per receipt: {max(memory) / args.events:,.0f} bytes"
            f" ({args.events:,} receipts in one set)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
