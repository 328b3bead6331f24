"""Fixtures for tests that talk to the local stack (``blazar-events stack up``).

The service fixtures check that the service really answers and fail, never skip, with the
command that brings it up. Names (Kafka topics, AMQP queues, Redis key prefixes) come from
``unique_name`` so tests run in parallel under pytest-xdist without seeing each other.

Fault tests take services away with the ``stack`` fixture. While one runs, every other test
that uses a service waits (a file lock in the stack folder, shared by all pytest processes
and xdist workers on this stack), so stopping Kafka never breaks an unrelated test.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from blazar_events.reference import all_sections
from blazar_events.section import env_name
from blazar_events.store import SubscriptionStore
from stack import registry
from stack.identity import KeystoneAdmin
from stack.kafka import create_topics, delete_topics
from stack.keystone import admin_credentials
from stack.layout import (
    AMQP_URL,
    KAFKA_BOOTSTRAP,
    REDIS_URL,
    TRANSPORT_URL,
    stack_dir,
)
from stack.service import Status

SERVICE_FIXTURES = {
    "redis_url",
    "amqp_url",
    "transport_url",
    "kafka_bootstrap",
    "kafka_topic",
    "redis_prefix",
    "keystone",
    "stack",
}


def unique_name(prefix: str = "test") -> str:
    """A name no other test (or test run) uses: ``<prefix>-<12 hex digits>``."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


_held: list[int] = []  # locks this process holds: re-entering must not wait for itself


@contextlib.contextmanager
def _stack_lock(mode: int) -> Iterator[None]:
    if _held:
        yield
        return
    path = stack_dir() / "faults.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, mode)
        _held.append(mode)
        try:
            yield
        finally:
            _held.pop()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _require(name: str) -> None:
    """Fail the test with a clear message unless the stack's ``name`` service answers."""
    chosen = registry.service(name)
    try:
        # Not while a fault test (maybe in another worker) has the service stopped.
        with _stack_lock(fcntl.LOCK_SH):
            chosen.probe()
    except Exception as exc:
        pytest.fail(
            f"{name} does not answer at {chosen.address()} ({type(exc).__name__}: {exc}); "
            f"start the local services with `blazar-events stack up` (or `make stack`)",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def redis_url() -> str:
    _require("redis")
    return REDIS_URL


@pytest.fixture(scope="session")
def amqp_url() -> str:
    """RabbitMQ in kombu's form, ``amqp://guest:guest@127.0.0.1:5673//``."""
    _require("rabbitmq")
    return AMQP_URL


@pytest.fixture(scope="session")
def transport_url(amqp_url: str) -> str:
    """The same RabbitMQ in oslo.messaging's form, ``rabbit://guest:guest@127.0.0.1:5673/``."""
    return TRANSPORT_URL


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    _require("kafka")
    return KAFKA_BOOTSTRAP


@pytest.fixture(scope="session")
def keystone() -> KeystoneAdmin:
    """The stack's Keystone: ``auth_url`` and the cloud admin's credentials (``.token()``)."""
    _require("keystone")
    admin = admin_credentials()
    try:
        admin.token()
    except Exception as exc:
        pytest.fail(
            f"keystone answers but its admin cannot log in ({exc}); reset it with "
            f"`blazar-events stack down keystone && rm -rf {stack_dir() / 'keystone'}` "
            "and `blazar-events stack up keystone`",
            pytrace=False,
        )
    return admin


@pytest.fixture
def kafka_topic(kafka_bootstrap: str) -> Iterator[str]:
    """A fresh Kafka topic (one partition), deleted after the test."""
    name = unique_name("blazar.events.test")
    create_topics(kafka_bootstrap, {name: 1})
    yield name
    with contextlib.suppress(Exception):  # best effort: the broker may be stopped
        delete_topics(kafka_bootstrap, [name])


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A Redis key prefix of the test's own; its keys are removed afterwards."""
    prefix = unique_name("blazar-events-test")
    yield prefix
    client = redis.Redis.from_url(redis_url)
    with contextlib.suppress(redis.RedisError):
        for key in client.scan_iter(match=f"{prefix}*", count=500):
            client.delete(key)
    client.close()


@pytest.fixture
def store(redis_url: str, redis_prefix: str) -> Iterator[SubscriptionStore]:
    """The subscription store under the test's own prefix."""
    client = redis.Redis.from_url(redis_url)
    yield SubscriptionStore(client, redis_prefix)
    client.close()


class StackControl:
    """Stop, start and restart services of the stack from a fault test."""

    def __init__(self) -> None:
        self.stopped: set[str] = set()

    def stop(self, name: str) -> None:
        if not registry.stop_service(name):
            pytest.fail(
                f"{name} is not run by this stack ({stack_dir()}), so a test cannot stop it; "
                "run `blazar-events stack up` from this checkout or set BLAZAR_EVENTS_STACK_DIR",
                pytrace=False,
            )
        self.stopped.add(name)

    def start(self, name: str) -> Status:
        """Start the service and return once it answers again."""
        status = registry.start_service(name)
        self.stopped.discard(name)
        return status

    def restart(self, name: str) -> Status:
        self.stop(name)
        return self.start(name)

    @contextlib.contextmanager
    def down(self, name: str) -> Iterator[None]:
        """``with stack.down("kafka"): ...`` runs the block with the service stopped."""
        self.stop(name)
        try:
            yield
        finally:
            self.start(name)


@pytest.fixture
def stack() -> Iterator[StackControl]:
    """Fault injection: whatever the test stopped is started again afterwards."""
    control = StackControl()
    yield control
    for name in sorted(control.stopped):
        registry.start_service(name)


@pytest.fixture(autouse=True)
def _services_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    # Shared while a test uses a service, exclusive while a fault test stops one.
    used = SERVICE_FIXTURES.intersection(request.fixturenames)
    if not used:
        yield
        return
    with _stack_lock(fcntl.LOCK_EX if "stack" in used else fcntl.LOCK_SH):
        yield


@pytest.fixture
def make_name() -> Callable[[str], str]:
    """``make_name("pool")`` -> a unique name, for tests that need several."""
    return unique_name


class PrivateRedis:
    """A throwaway redis-server of the test's own, to take away and bring back at will.

    For outage tests that must not disturb the shared stack's Redis (and so need no lock).
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed: run `blazar-events stack up`"
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--dir", str(self.workdir)]
        self.process = subprocess.Popen([binary, *args], stdout=subprocess.DEVNULL)
        probe = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                probe.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError("a private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


# Tests that run whole pipelines (bridge, broker, Kafka) in subprocesses are marked
# `pipeline`; `make test` runs them after the rest, one at a time: two pipelines at once on a
# 2-core machine starve each other into timeouts.
PIPELINE_TESTS = (
    "tests/e2e/", "tests/bridge/test_faults.py", "tests/broker/test_assembly.py",
    "tests/reminders/test_pipeline.py",
)  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(part in item.nodeid for part in PIPELINE_TESTS):
            item.add_marker(pytest.mark.pipeline)


def free_port() -> int:
    """A loopback port nothing listens on now (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def api_process(env: dict[str, str], log: Path, port: int | None = None) -> Iterator[str]:
    """``blazar-events api`` in a process of its own, ``env`` over this one's: its URL once
    ``/healthz`` answers (the process's output in ``log``); SIGTERM when done."""
    port = port or free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "blazar_events.cli", "api", "--port", str(port)],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a bound on a hang, not a performance figure
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"the API did not come up:\n{log.read_text()}"
            time.sleep(0.05)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def all_env_names() -> set[str]:
    """The environment variable of every option of every section."""
    return {
        env_name(section, field)
        for section, cls in all_sections().items()
        for field in cls.model_fields
    }
