"""The whole pipeline as separate processes on the local stack:

oslo.messaging Notifier -> RabbitMQ -> ``blazar-events bridge`` -> Kafka ->
``blazar-events broker`` -> the delivery function (in-process) -> a real HTTP sink.

Each test has its own exchange, pool, topics, consumer group and Redis prefix.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from blazar_events.store import SubscriptionStore
from stack.sink import Received, Sink
from tests.bridge.conftest import BlazarNotifier, Route, fixture_message
from tests.conftest import unique_name

__all__ = ["BlazarNotifier", "Pipeline", "fixture_message"]


class Process:
    """A component started as ``blazar-events <command>``, as systemd would run it."""

    def __init__(self, command: str, env: dict[str, str], log: Path) -> None:
        self.command, self.env, self.log = command, env, log
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "blazar_events.cli", self.command],
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def kill(self) -> None:
        """SIGKILL: no goodbye, no final commit."""
        assert self.popen is not None
        self.popen.kill()
        self.popen.wait(10)

    def stop(self) -> int | None:
        if self.popen is None or self.popen.poll() is not None:
            return None if self.popen is None else self.popen.returncode
        self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            return self.popen.wait(10)


class Pipeline:
    def __init__(self, route: Route, redis_url: str, prefix: str, tmp: Path) -> None:
        self.route = route
        self.tmp = tmp
        self.env = {
            **route.env(),
            "BLAZAR_EVENTS_REDIS_URL": redis_url,
            "BLAZAR_EVENTS_REDIS_KEY_PREFIX": prefix,
            "BLAZAR_EVENTS_KAFKA_DLQ_TOPIC": route.topic + ".dlq",
            "BLAZAR_EVENTS_BROKER_GROUP_ID": unique_name("broker"),
            "BLAZAR_EVENTS_BROKER_PORT": "0",
            "BLAZAR_EVENTS_BROKER_COMMIT_INTERVAL": "0.2",
            "BLAZAR_EVENTS_BROKER_SHUTDOWN_GRACE": "2",
            "BLAZAR_EVENTS_EGRESS_ALLOWED_NETWORKS": "127.0.0.0/8",
            "BLAZAR_EVENTS_BRIDGE_LOG_FORMAT": "text",
        }
        config = tmp / "blazar-events.conf"
        config.write_text("")  # the environment carries everything
        self.env["BLAZAR_EVENTS_CONFIG_FILE"] = str(config)
        self.processes: list[Process] = []

    def start(self, command: str) -> Process:
        process = Process(command, self.env, self.tmp / f"{command}.log").start()
        self.processes.append(process)
        return process

    def wait_for(
        self, sink: Sink, predicate: Callable[[list[Received]], bool], timeout: float = 60.0
    ) -> list[Received]:
        """``sink.wait_for``, failing at once with the logs if a component died."""
        deadline = time.monotonic() + timeout
        while True:
            for process in self.processes:
                if process.popen is not None and process.popen.poll() not in (None, -9):
                    raise AssertionError(f"{process.command} exited:\n{self.logs()}")
            try:
                return sink.wait_for(predicate, timeout=min(1.0, deadline - time.monotonic()))
            except TimeoutError:
                if time.monotonic() >= deadline:
                    raise AssertionError(
                        f"the sink has {len(sink.requests())} request(s), not what was awaited;"
                        f" logs:\n{self.logs()}"
                    ) from None

    def logs(self) -> str:
        return "\n".join(p.log.read_text(errors="replace")[-4000:] for p in self.processes)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


@pytest.fixture
def store(redis_url: str, redis_prefix: str) -> Iterator[SubscriptionStore]:
    client = redis.Redis.from_url(redis_url)
    yield SubscriptionStore(client, redis_prefix)
    client.close()


@pytest.fixture
def pipeline(
    transport_url: str, kafka_bootstrap: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> Iterator[Pipeline]:
    route = Route(amqp_url=transport_url, kafka_bootstrap=kafka_bootstrap)
    route.declare()  # the pool queue exists before anything is published
    running = Pipeline(route, redis_url, redis_prefix, tmp_path)
    try:
        yield running
    finally:
        running.stop()
        route.cleanup()


@pytest.fixture
def notifier(pipeline: Pipeline, tmp_path: Path) -> Iterator[BlazarNotifier]:
    notifier = BlazarNotifier(pipeline.route.amqp_url, pipeline.route.exchange, tmp_path / "n")
    yield notifier
    notifier.close()


@pytest.fixture
def sink() -> Iterator[Sink]:
    with Sink() as running:
        yield running


def wait_until(check: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something true; fail the test (not time it) if never."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} never happened within {timeout:g} s")
