"""Soak: the whole standalone pipeline under a seeded fault schedule, counted at the sinks.

    .venv/bin/python -u bench/soak/run.py                      # 100,000 events over ~15 min
    .venv/bin/python -u bench/soak/run.py --events 3000 --rate 20 --kills 1 --service-restarts 1

Blazar notifications go out through oslo.messaging's Notifier as blazar-manager sends them;
the bridge, two broker processes (one consumer group), the API and the function service run
as separate ``blazar-events`` processes on private names (exchange, queue, topics, consumer
groups, Redis prefix), so nothing else on the stack sees them. Ten subscriptions in three
projects deliver to real HTTP sinks that verify every signature. Meanwhile the chaos schedule
(chaos.py) kills components and restarts Redis, RabbitMQ and Kafka (``--no-service-faults``
leaves the shared services alone). Then it waits for the drain and prints, per subscription
and in total, expected / delivered / lost / duplicates / out of scope / bad signatures /
delays, and the fault timeline. Exit status 0 only with nothing lost, nothing out of scope,
no bad signature and every fault carried out.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from pathlib import Path

from chaos import Chaos, Timeline, schedule
from diagnostics import bridge_ready, whereabouts
from faults import to_actions
from pipeline import Soak
from publisher import Publisher
from report import Update, duplicate_causes, table, tally, to_json
from sinks import Sinks
from workload import Leases, subscriptions


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rate", type=float, help="events/s (default: events over 15 min)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--leases", type=int, default=25, help="leases per project")
    parser.add_argument("--kills", type=int, default=3, help="SIGKILLs of each component")
    parser.add_argument("--service-restarts", type=int, default=2,
                        help="restarts of each of Redis, RabbitMQ, Kafka")  # fmt: skip
    parser.add_argument(
        "--no-service-faults",
        action="store_true",
        help="leave the shared services alone (components are still killed)",
    )
    parser.add_argument("--sink-down", type=float, default=60.0, help="seconds c-all is down")
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    parser.add_argument(
        "--drain-quiet",
        type=float,
        default=120.0,
        help="give up draining after this long without a new delivery",
    )
    parser.add_argument(
        "--fault-lock",
        choices=["stack", "none"],
        default="stack",
        help="hold the test suite's fault lock while a service is down",
    )
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--keep", action="store_true", help="keep topics, queue and keys")
    return parser.parse_args(argv)


def not_scheduled(args: argparse.Namespace) -> list[str]:
    """The kinds of fault the options left out, and which option did."""
    out: list[str] = []
    if args.service_restarts <= 0:
        why = "--no-service-faults" if args.no_service_faults else "--service-restarts 0"
        out.append(f"restarts of Redis, RabbitMQ and Kafka: NOT SCHEDULED ({why})")
    if args.kills <= 0:
        out.append("SIGKILLs of the components: NOT SCHEDULED (--kills 0)")
    if args.sink_down <= 0:
        out.append("subscriber outage: NOT SCHEDULED (--sink-down 0)")
    return out


def main(argv: list[str]) -> int:
    args = parse(argv)
    if args.no_service_faults:
        args.service_restarts = 0
    rate = args.rate or args.events / 900.0
    duration = args.events / rate
    soak = Soak(args.seed)
    print(f"soak {soak.tag}: {args.events:,} events at {rate:.1f}/s (~{duration / 60:.1f} min),"
          f" seed {args.seed}; logs in {soak.logs}", flush=True)  # fmt: skip
    soak.check_services()
    leases = Leases(args.seed, args.leases)
    subs = subscriptions(leases.first_of("a"))
    sinks = Sinks(soak.tag, args.seed)
    publisher: Publisher | None = None
    try:
        soak.prepare()
        soak.start_components()
        for sub in subs:
            secret = soak.subscribe(sub, sinks.add(sub.name, sub.flaky).url)
            sinks.trust(sub.name, secret)
        soak.start_dispatcher(next(s for s in subs if s.lane == "function"))
        soak.wait_ready()
        print(f"pipeline up: {len(subs)} subscriptions; publishing", flush=True)

        publisher = Publisher(
            soak.transport_url, soak.exchange, soak.notify_topic, soak.logs / "blazar", soak.tag
        )
        soak.publishing = publisher.active
        timeline = Timeline(time.time())
        update = Update()
        faults = schedule(args.seed, duration, args.kills, args.service_restarts,
                          args.sink_down, "c-all")  # fmt: skip
        rng = random.Random(args.seed ^ 0xC4A05)
        actions = to_actions(soak, sinks, subs, update, args, timeline, rng)
        chaos = Chaos(faults, actions, timeline)
        soak.supervise(timeline, lambda: bridge_ready(soak))
        chaos.start()
        stop = threading.Event()
        publisher.publish(leases, args.events, rate, stop)
        published = publisher.result
        print(f"published {len(published.notes):,} in {published.finished - published.started:.0f}"
              f" s ({len(published.failed)} lost by the Notifier itself); waiting for the faults"
              " and the drain", flush=True)  # fmt: skip
        chaos.join()
        soak.wait_sink_up()
        drained = soak.drain(sinks, subs, published, update, args.drain_timeout, args.drain_quiet)
        soak.stop_supervising()
        rows = [tally(sub, sinks.sinks[sub.name].hits, published.notes, published.sent_at, update)
                for sub in subs]  # fmt: skip
        print()
        print(table(rows))
        print()
        print(f"drain: {drained}")
        marks = [(timeline.origin + e.started, e.what) for e in timeline.entries]
        hits = {sub.name: sinks.sinks[sub.name].hits for sub in subs}
        causes = duplicate_causes(subs, hits, marks)
        print(f"duplicates by the last fault between first delivery and repeat: {causes}")
        where = whereabouts(soak)
        print(f"at the end: {where}")
        print(f"bridge/broker/function restarts by the soak's supervisor (exited by themselves): "
              f"{soak.crashes or 'none'}")  # fmt: skip
        print(f"Notifier send failures (Blazar's side, not counted as expected): "
              f"{len(published.failed)}")  # fmt: skip
        print(f"function lane: {soak.dispatcher_summary()}")
        print()
        print("fault timeline (seconds after publishing started):")
        for entry in sorted(timeline.entries, key=lambda e: e.started):
            print(f"  {entry.started:7.1f} - {entry.ended:7.1f}  {entry.what:<22} {entry.detail}")
        skipped = [e for e in timeline.entries if e.detail.startswith(("FAILED", "SKIPPED"))]
        unscheduled = not_scheduled(args)
        print("\nfaults not carried out:")
        for entry in skipped:
            print(f"  {entry.what}: {entry.detail}")
        for what in unscheduled:
            print(f"  {what}")
        if not skipped and not unscheduled:
            print("  none: every kind of fault was scheduled and carried out")
        totals = to_json(rows)[-1]
        ok = (totals["lost"] == 0 and not published.failed and totals["out_of_scope"] == 0
              and totals["signature_failures"] == 0 and not skipped)  # fmt: skip
        if args.json:
            args.json.write_text(json.dumps({
                "tag": soak.tag, "seed": args.seed, "events": args.events, "rate": rate,
                "published": len(published.notes), "notifier_failures": len(published.failed),
                "rows": to_json(rows), "drain": drained, "where": where, "crashes": soak.crashes,
                "duplicate_causes": causes,
                "faults": [vars(e) for e in timeline.entries],
                "function_lane": soak.dispatcher_summary(), "ok": ok,
                "not_carried_out": [f"{e.what}: {e.detail}" for e in skipped],
                "not_scheduled": unscheduled,
            }, default=str, indent=1))  # fmt: skip
        result = "OK" if ok else "NOT OK"
        if ok and unscheduled:
            result += f" (without {len(unscheduled)} kind(s) of fault, listed above)"
        print("\nRESULT: " + result)
        return 0 if ok else 1
    finally:
        if publisher is not None:
            publisher.close()
        soak.teardown(keep=args.keep)
        sinks.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
