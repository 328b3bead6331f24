"""RabbitMQ failover across the hosts of transport_url, with a second RabbitMQ node.

The test starts a node of its own (its own node name, ports, Erlang cookie and data under
a temporary folder; the shared stack's node is never touched) and gives the bridge
``rabbit://…@<nothing listens>,…@<its node>,…@<the stack's node>/``, the shape of a
kolla-ansible transport_url: the first host is down, so the bridge consumes from the
second; then the second goes down too, and it carries on with the third.
"""

from __future__ import annotations

import contextlib
import copy
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import kombu
import pytest

from bridge.service import Bridge
from tests.bridge.conftest import (
    WAIT,
    BlazarNotifier,
    KafkaReader,
    Route,
    fixture_message,
    running,
    to_event,
)

pytestmark = pytest.mark.slow
SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
TEMPLATE = fixture_message("v2-lease.event.start_lease.json")
START_TIMEOUT = 240.0  # a guard: RabbitMQ boots slowly on a busy 2-core machine


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Node:
    def __init__(self, process: subprocess.Popen[bytes], url: str) -> None:
        self.process = process
        self.url = url

    def stop(self) -> None:
        """Stop the node we started: its own process group (the script and the Erlang VM)."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)


@contextlib.contextmanager
def rabbitmq_node(folder: Path) -> Iterator[Node]:
    """A RabbitMQ node of this test only, stopped at the end."""
    if not SERVER.exists():
        pytest.fail(f"{SERVER} is missing: install Debian's rabbitmq-server", pytrace=False)
    port, dist_port = free_port(), free_port()
    for sub in ("home", "mnesia", "log"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "rabbitmq.conf").write_text(
        f"listeners.tcp.1 = 127.0.0.1:{port}\ndisk_free_limit.absolute = 50MB\n"
    )
    (folder / "enabled_plugins").write_text("[].\n")
    (folder / "rabbitmq-env.conf").write_text("")
    env = {
        **os.environ,
        "HOME": str(folder / "home"),
        "RABBITMQ_CONF_ENV_FILE": str(folder / "rabbitmq-env.conf"),
        "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq.conf"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
        "RABBITMQ_NODENAME": f"bridge-failover-{uuid.uuid4().hex[:8]}@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(dist_port),
        "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
        "RABBITMQ_LOG_BASE": str(folder / "log"),
        "RABBITMQ_PID_FILE": str(folder / "mnesia" / "beam.pid"),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
    }
    with (folder / "server.out").open("wb") as output:
        node = subprocess.Popen(
            [str(SERVER)], env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    started = Node(node, f"rabbit://guest:guest@127.0.0.1:{port}/")
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert node.poll() is None, f"the node exited; see {folder / 'server.out'}"
            try:
                with kombu.Connection(f"amqp://guest:guest@127.0.0.1:{port}//") as probe:
                    probe.connect()
                break
            except OSError:
                assert time.monotonic() < deadline, "the second RabbitMQ node did not start"
                time.sleep(0.5)
        yield started
    finally:
        started.stop()


def notify_leases(notifier: BlazarNotifier, count: int) -> list[str]:
    leases = []
    for _ in range(count):
        fixture = copy.deepcopy(TEMPLATE)
        fixture["payload"]["lease_id"] = lease = str(uuid.uuid4())
        notifier.notify(fixture)
        leases.append(lease)
    return leases


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.timeout(900)
def test_the_bridge_consumes_from_the_next_host_when_one_is_down(
    route: Route,
    reader: Callable[[str], KafkaReader],
    start_bridge: Callable[..., Bridge],
    tmp_path: Path,
) -> None:
    events_topic = reader(route.topic)
    down = f"guest:guest@127.0.0.1:{free_port()}"  # nothing listens: a node that is down
    with contextlib.ExitStack() as stack:
        node = stack.enter_context(rabbitmq_node(tmp_path / "node"))
        second_url = node.url
        second = second_url.removeprefix("rabbit://").rstrip("/")
        third = route.amqp_url.removeprefix("rabbit://").rstrip("/")
        bridge = start_bridge(transport_url=f"rabbit://{down},{second},{third}/")
        stack.enter_context(running(bridge))
        assert bridge.health.amqp_connected

        # The first host is down: it consumes from the second.
        on_second = BlazarNotifier(second_url, route.exchange, tmp_path / "second")
        try:
            before = notify_leases(on_second, 10)
        finally:
            on_second.close()
        events_topic.read(len(before))

        # The second goes down as well: it moves on to the third and keeps consuming.
        node.stop()
        wait_until(
            lambda: (
                bridge.metrics.amqp_reconnects._value.get() >= 1 and bridge.health.amqp_connected
            ),
            "the bridge to reconnect to the next host",
        )
        on_third = BlazarNotifier(route.amqp_url, route.exchange, tmp_path / "third")
        try:
            after = notify_leases(on_third, 10)
        finally:
            on_third.close()
        records = events_topic.read(len(before) + len(after))

    assert {str(to_event(record).get_subject()) for record in records} == set(before + after)
    assert bridge.metrics.consumer_restarts.labels("internal")._value.get() == 0
