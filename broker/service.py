"""``blazar-events broker``: the standalone broker process.

Consumes ``[kafka] topic`` in consumer group ``[broker] group_id`` and delivers to every
matching subscription; SIGTERM or SIGINT stop it gracefully (in-flight deliveries finish,
settled offsets are committed, the rest is redelivered after a restart). A shutdown that
outlives the grace by 30 s dumps every thread's stack to stderr and exits: nothing is lost
(unsettled records were never committed), and a hung stop would hold the partitions.
"""

from __future__ import annotations

import asyncio
import faulthandler
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable

from blazar_events.cli import run_component
from blazar_events.redis_clients import to_async_redis, to_redis
from blazar_events.settings import KafkaSettings, RedisSettings
from blazar_events.store import SubscriptionStore
from broker.assembly import Broker
from broker.health import serve, to_app
from broker.settings import BrokerSettings
from delivery.settings import DeliverySettings

log = logging.getLogger("broker")


STOP_OVERRUN = 30.0  # seconds a stop may take beyond the deliveries' grace


def _exit_if_stuck(after: float) -> None:
    def give_up() -> None:
        log.error("shutdown still running after %.0f s: thread stacks follow; exiting", after)
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        os._exit(1)

    timer = threading.Timer(after, give_up)
    timer.daemon = True
    timer.start()


async def run(port: int | None = None) -> int:
    settings = BrokerSettings.load()
    redis_settings = RedisSettings.load()
    sync_client = to_redis(redis_settings)
    async_client = to_async_redis(redis_settings)
    store = SubscriptionStore(sync_client, redis_settings.key_prefix)
    broker = Broker(settings, DeliverySettings.load(), KafkaSettings.load(), store, async_client)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await broker.start()
    runner = await serve(
        to_app(broker.health, broker.metrics.registry), settings.host, port or settings.port
    )
    log.info("health and metrics on http://%s:%d/healthz and /metrics",
             settings.host, port or settings.port)  # fmt: skip
    # A crashed part (the Kafka consumer included) is restarted by the broker's supervisor
    # and shown in /healthz meanwhile; the process ends only when told to.
    await stop.wait()
    log.info("stopping")
    _exit_if_stuck(settings.shutdown_grace + STOP_OVERRUN)
    await broker.stop()
    await runner.cleanup()
    await async_client.aclose()
    return 0


def to_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where installed: its I/O is about twice as fast as asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(argv: list[str]) -> int:
    def start(settings: BrokerSettings, port: int | None) -> int:
        with asyncio.Runner(loop_factory=to_loop_factory()) as runner:
            return runner.run(run(port))

    return run_component(
        argv,
        prog="blazar-events broker",
        description=__doc__,
        section=BrokerSettings,
        port_help="health/metrics port (default: settings)",
        run=start,
    )
