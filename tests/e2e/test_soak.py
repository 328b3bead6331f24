"""The soak, short (bench/soak): about 3,000 Blazar notifications through the whole pipeline
while each component is SIGKILLed once and Redis, RabbitMQ and Kafka are each restarted once,
a subscriber is down, a secret is rotated and a subscription updated. Whatever the faults,
every expected event reaches its subscriber (duplicates allowed), none reaches a subscriber
outside its scope, and every signature verifies with the Standard Webhooks library.

``SOAK_SERVICE_FAULTS=0`` leaves the shared services alone (components are still killed):
for running it beside other work on the same stack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
SOAK = ROOT / "bench" / "soak" / "run.py"
COMPONENTS = ("bridge", "broker-1", "broker-2", "api", "function")
SERVICES = ("redis", "rabbitmq", "kafka")


@pytest.mark.timeout(2400)
def test_a_short_soak_loses_nothing_through_kills_and_restarts(tmp_path: Path) -> None:
    service_faults = os.environ.get("SOAK_SERVICE_FAULTS", "1") != "0"
    report_file = tmp_path / "soak.json"
    argv = [sys.executable, "-u", str(SOAK), "--events", "3000", "--rate", "20",
            "--kills", "1", "--service-restarts", "1", "--sink-down", "20",
            "--drain-quiet", "180", "--drain-timeout", "900",
            "--json", str(report_file)]  # fmt: skip
    if not service_faults:
        argv.append("--no-service-faults")
    run = subprocess.run(argv, capture_output=True, text=True, timeout=2300, check=False)
    print(run.stdout)  # the soak's table and fault timeline, shown with -s or on failure
    output = run.stdout[-6000:] + run.stderr[-4000:]
    assert report_file.exists(), f"the soak ended without a report:\n{output}"
    report = json.loads(report_file.read_text())

    faults = [entry["what"] for entry in report["faults"]]
    carried_out = [e for e in report["faults"] if not e["detail"].startswith(("FAILED", "SKIP"))]
    assert len(carried_out) == len(faults), output
    for component in COMPONENTS:
        assert f"kill {component}" in faults, output
    for service in SERVICES if service_faults else ():
        assert f"restart {service}" in faults, output
    assert {"sink-down c-all", "rotate b-all", "update a-start"} <= set(faults), output
    # What an option left out is said, with the option: never a silent gap in the schedule.
    left_out = report["not_scheduled"]
    assert left_out == ([] if service_faults else [
        "restarts of Redis, RabbitMQ and Kafka: NOT SCHEDULED (--no-service-faults)"
    ]), output  # fmt: skip

    total = report["rows"][-1]
    assert report["published"] == 3000, output
    assert total["expected"] > 3000, output  # each event has several subscribers
    assert total["lost"] == 0, output
    assert total["out_of_scope"] == 0, output
    assert total["signature_failures"] == 0, output
    assert run.returncode == 0, output
