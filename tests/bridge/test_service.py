"""``blazar-events bridge`` as an operator runs it: a process on the real RabbitMQ and Kafka
that says where its probes are, becomes ready, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.bridge.conftest import Route

PROBES = re.compile(rb"health and metrics on http://127\.0\.0\.1:(\d+)/")


def start(route: Route, log: Path, **env: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "blazar_events.cli", "bridge"],
            env={**os.environ, **route.env(), "BLAZAR_EVENTS_BRIDGE_LOG_FORMAT": "text", **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def probes_port(process: subprocess.Popen[bytes], log: Path) -> int:
    deadline = time.monotonic() + 120
    while (found := PROBES.search(log.read_bytes())) is None:
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    return int(found.group(1))


def test_the_bridge_becomes_ready_and_stops_cleanly_on_sigterm(
    route: Route, tmp_path: Path
) -> None:
    log = tmp_path / "bridge.log"
    process = start(route, log)
    try:
        base = f"http://127.0.0.1:{probes_port(process, log)}"
        deadline = time.monotonic() + 120
        while (ready := httpx.get(base + "/readyz", timeout=10)).status_code != 200:
            assert time.monotonic() < deadline, (ready.text, log.read_text())
            time.sleep(0.2)
        assert ready.text == "ready\n"
        assert httpx.get(base + "/healthz", timeout=10).text == "ok\n"
        assert "blazar_events_bridge_received_total 0.0" in httpx.get(base + "/metrics").text
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
    assert "bridge stopped" in log.read_text()


def test_a_bad_setting_stops_the_start_naming_the_variable(route: Route, tmp_path: Path) -> None:
    log = tmp_path / "bridge.log"
    process = start(route, log, BLAZAR_EVENTS_BRIDGE_PREFETCH="0")
    assert process.wait(120) != 0
    assert "BLAZAR_EVENTS_BRIDGE_PREFETCH" in log.read_text()
    assert PROBES.search(log.read_bytes()) is None  # never listened
