"""``blazar-events run``: the whole product on this machine, in the foreground.

Starts the local stack, then the bridge, the API (noauth: development only), the
standalone broker and the reminder scheduler as child processes; a local sink that verifies
every signature with the Standard Webhooks library; subscribes it through the API; publishes a
lease's life the way blazar-manager does (oslo.messaging Notifier, messagingv2, publisher
``blazar.lease``) and shows the signed CloudEvents arriving. ``--once`` exits 0 when all have
arrived (for tests).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from datetime import timedelta
from pathlib import Path

import httpx

from blazar_events.errors import BlazarEventsError
from stack import blazar_setup, leases, registry, samples
from stack.layout import REDIS_URL, TRANSPORT_URL, stack_dir
from stack.sink import Received, Sink

NEEDED = ["redis", "rabbitmq", "kafka"]
WAIT = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def say(text: str = "") -> None:
    print(text, flush=True)


class Demo:
    def __init__(self, once: bool, api_port: int) -> None:
        self.once = once
        tag = uuid.uuid4().hex[:8] if once else ""
        suffix = f"-{tag}" if tag else ""
        self.api_port = free_port() if once else api_port
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.bridge_port = free_port() if once else 9101
        self.reminders_port = free_port() if once else 8092
        self.exchange = f"openstack{suffix}"  # Blazar's control_exchange
        self.logs = (
            Path(tempfile.mkdtemp(prefix="blazar-events-run-")) if once else (stack_dir() / "run")
        )
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env = {
            "BLAZAR_EVENTS_REDIS_URL": REDIS_URL,
            "BLAZAR_EVENTS_BRIDGE_TRANSPORT_URL": TRANSPORT_URL,
            "BLAZAR_EVENTS_BRIDGE_EXCHANGE": self.exchange,
            "BLAZAR_EVENTS_BRIDGE_LOG_FORMAT": "text",
            "BLAZAR_EVENTS_BRIDGE_PORT": str(self.bridge_port),
            "BLAZAR_EVENTS_API_PORT": str(self.api_port),
            "BLAZAR_EVENTS_API_WORKERS": "1",
            "BLAZAR_EVENTS_API_AUTH_STRATEGY": "noauth",
            "BLAZAR_EVENTS_EGRESS_ALLOWED_NETWORKS": "127.0.0.0/8",
            "BLAZAR_EVENTS_REMINDERS_PORT": str(self.reminders_port),
        }
        if once:  # a private namespace: tests run beside other tests
            self.env.update({
                "BLAZAR_EVENTS_REDIS_KEY_PREFIX": f"blazar-events-run{suffix}",
                "BLAZAR_EVENTS_KAFKA_TOPIC": f"blazar.events.run{suffix}",
                "BLAZAR_EVENTS_KAFKA_DLQ_TOPIC": f"blazar.events.run{suffix}.dlq",
                "BLAZAR_EVENTS_KAFKA_REJECTED_TOPIC": f"blazar.events.run{suffix}.rejected",
                "BLAZAR_EVENTS_BRIDGE_POOL": f"blazar-events-run{suffix}",
                "BLAZAR_EVENTS_BROKER_GROUP_ID": f"blazar-events-run{suffix}",
                "BLAZAR_EVENTS_BROKER_PORT": str(free_port()),
                "BLAZAR_EVENTS_REMINDERS_GROUP_ID": f"blazar-events-run-reminders{suffix}",
            })  # fmt: skip
        self.children: list[subprocess.Popen[bytes]] = []
        self.sink = Sink(port=0)
        self.expected: set[str] = set()

    # --- steps --------------------------------------------------------------------------

    def stack_up(self) -> None:
        say("1. local services (Redis, RabbitMQ, Kafka) — `blazar-events stack up`")
        statuses, errors = registry.up(NEEDED)
        if errors:
            raise BlazarEventsError("the stack did not come up: " + "; ".join(errors))
        for status in statuses:
            say(f"   {status.name:<9} {status.address}")

    def start(self, command: str) -> None:
        log = (self.logs / f"{command}.log").open("ab")
        child = subprocess.Popen(
            [sys.executable, "-m", "blazar_events.cli", command],
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.children.append(child)

    def components(self) -> None:
        say("2. bridge, API, broker and reminder scheduler (logs in " + str(self.logs) + ")")
        self.start("bridge")
        self.start("api")
        self.start("broker")
        self.start("reminders")
        self._wait_http(f"http://127.0.0.1:{self.bridge_port}/readyz", "bridge")
        self._wait_http(f"{self.api}/healthz", "API")
        self._wait_http(f"http://127.0.0.1:{self.reminders_port}/healthz", "reminders")
        say("   *** the API runs with auth_strategy=noauth: DEVELOPMENT MODE, anyone can act as"
            " any project ***")  # fmt: skip

    def _wait_http(self, url: str, what: str) -> None:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            for child in self.children:
                if child.poll() is not None:
                    raise BlazarEventsError(f"a component exited; see the logs in {self.logs}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code == 200:
                    say(f"   {what:<9} ready")
                    return
            time.sleep(0.3)
        raise BlazarEventsError(f"{what} not ready after {WAIT:g} s; see {self.logs}")

    def subscribe(self) -> None:
        self.sink.start()
        self.sink.on_receive = self.show
        body = {"name": "demo", "sink": self.sink.url("demo"), "delivery": {"ordered": True},
                "description": "created by blazar-events run"}  # fmt: skip
        answer = httpx.post(f"{self.api}/v1/subscriptions", json=body,
                            headers=self._headers(), timeout=10)  # fmt: skip
        if answer.status_code != 201:
            raise BlazarEventsError(f"creating the demo subscription: {answer.text}")
        created = answer.json()
        self.sink.verify_with("demo", created["secret"])
        say(f"3. demo subscription {created['id']} (project {samples.DEMO_PROJECT})")
        say(f"   sink {self.sink.url('demo')}, secret whsec_… kept by the sink to verify")

    def _headers(self) -> dict[str, str]:
        return {"X-Project-Id": samples.DEMO_PROJECT, "X-User-Id": samples.DEMO_USER,
                "X-Roles": "member"}  # fmt: skip

    def publish(self) -> None:
        with warnings.catch_warnings():  # oslo's eventlet deprecation notice, on import
            warnings.simplefilter("ignore")
            import oslo_messaging
            from oslo_config import cfg

        say("4. blazar-manager style notifications (oslo.messaging, messagingv2):")
        # Blazar's control_exchange, as blazar.conf's [DEFAULT] would set it.
        oslo_messaging.set_transport_defaults(control_exchange=self.exchange)
        conf = cfg.ConfigOpts()
        conf([], project="blazar")
        transport = oslo_messaging.get_notification_transport(conf, url=TRANSPORT_URL)
        notifier = oslo_messaging.Notifier(
            transport, publisher_id="blazar.lease", driver="messagingv2", topics=["notifications"]
        )
        context = {"project_id": samples.DEMO_PROJECT, "user_id": samples.DEMO_USER}
        try:
            for event_type, payload in samples.notifications():
                notifier.info(context, event_type, payload)
                mine = payload["project_id"] == samples.DEMO_PROJECT
                if mine:
                    self.expected.add(f"org.openstack.blazar.{event_type}")
                note = "" if mine else "   (another project's lease: must NOT arrive)"
                say(f"   sent {event_type:<30} lease {payload['lease_id'][:8]}{note}")
        finally:
            transport.cleanup()

    def show(self, received: Received) -> None:
        event = received.event
        if event is None:
            say(f"   !! not a CloudEvent: {received.error}")
            return
        mark = "signature OK" if received.verified else f"SIGNATURE FAILED ({received.error})"
        say(
            f"   <- {event.get_type()}  lease {str(event.get_extension('leaseid'))[:8]}  "
            f"status {event.get_extension('leasestatus')}  [{mark}, id {event.get_id()[:8]}]"
        )

    def arrived(self) -> bool:
        got = {str(r.event.get_type()) for r in self.sink.requests("demo") if r.event}
        return self.expected <= got

    def real_lease(self) -> None:
        """A lease made through the real Blazar, whose manager then publishes its life."""
        say()
        say("6. a real Blazar: blazar-api and blazar-manager 18.0.0 on the same stack"
            " (first time: a few minutes to install)")  # fmt: skip
        _, errors = registry.up(["keystone", "blazar", "blazar-api"])
        if errors:
            raise BlazarEventsError("Blazar did not come up: " + "; ".join(errors))
        tenant = blazar_setup.demo_account()
        body = {"name": "real-blazar", "sink": self.sink.url("blazar")}
        headers = {**self._headers(), "X-Project-Id": tenant.project_id}
        answer = httpx.post(f"{self.api}/v1/subscriptions", json=body, headers=headers, timeout=10)
        if answer.status_code != 201:
            raise BlazarEventsError(f"subscribing the Blazar tenant: {answer.text}")
        self.sink.verify_with("blazar", answer.json()["secret"])
        start = leases.next_minute(timedelta(seconds=30))
        end = start + timedelta(minutes=3)
        client = leases.Leases(tenant)
        try:
            lease = client.create("blazar-events-demo", start, end)
        finally:
            client.close()
        say(f"   tenant {tenant.username} (project {tenant.project_id}) subscribed; lease"
            f" {lease['id'][:8]} made through Blazar's API:")  # fmt: skip
        say(f"   lease.create now; start_lease at {start:%H:%M}, before_end_lease at"
            f" {end - timedelta(minutes=1):%H:%M}, end_lease at {end:%H:%M} UTC"
            " (blazar-manager looks every 10 s)")  # fmt: skip
        say("   Make your own, as the tenant:")
        say(f"     source {blazar_setup.demo_openrc()}")
        later = leases.next_minute(timedelta(minutes=2))
        openstack = str(blazar_setup.venv() / "bin" / "openstack")
        mine = leases.create_command(openstack, "my-lease", later, later + timedelta(hours=1))
        say(f"     {mine}")

    def usage(self) -> None:
        say()
        say(f"The API: {self.api}/v1 (OpenAPI document at {self.api}/v1/openapi.json)")
        say("Subscribe your own endpoint (noauth: the headers say who you are):")
        say(f"  curl -s -X POST {self.api}/v1/subscriptions \\")
        say(f"    -H 'X-Project-Id: {samples.DEMO_PROJECT}' -H 'X-Roles: member' \\")
        say("    -H 'Content-Type: application/json' \\")
        say("    -d '{\"sink\": \"http://127.0.0.1:9000/\", "
            "\"types\": [\"lease.event.before_end_lease\"]}'")  # fmt: skip
        say("Ctrl-C stops everything.")

    def stop(self) -> None:
        for child in reversed(self.children):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
        with contextlib.suppress(Exception):
            self.sink.stop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="blazar-events run", description=__doc__)
    parser.add_argument(
        "--once",
        action="store_true",
        help="exit 0 once every demo event arrived (private names, free ports)",
    )
    parser.add_argument("--api-port", type=int, default=8090)
    args = parser.parse_args(argv)
    demo = Demo(args.once, args.api_port)
    try:
        demo.stack_up()
        demo.components()
        demo.subscribe()
        demo.publish()
        deadline = time.monotonic() + WAIT
        while not demo.arrived():
            if time.monotonic() > deadline:
                raise BlazarEventsError(f"the demo events did not all arrive; see {demo.logs}")
            time.sleep(0.2)
        time.sleep(0.5)  # anything that must not arrive would have by now
        foreign = [r for r in demo.sink.requests() if r.event and
                   r.event.get_extension("projectid") != samples.DEMO_PROJECT]  # fmt: skip
        if foreign or not all(r.verified for r in demo.sink.requests()):
            raise BlazarEventsError("an event of another project arrived or a signature failed")
        say(f"5. all {len(demo.expected)} events arrived, signed; the other project's did not.")
        if args.once:
            return 0
        demo.real_lease()
        demo.usage()
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
        return 0
    except BlazarEventsError as exc:
        say(f"blazar-events run: {exc.message}")
        return 1
    finally:
        demo.stop()
