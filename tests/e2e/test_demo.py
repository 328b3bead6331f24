"""The README's first command, in its test mode: the whole product on this machine."""

from __future__ import annotations

import subprocess
import sys


def test_blazar_events_run_shows_signed_events_arriving(
    redis_url: str, amqp_url: str, kafka_bootstrap: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "blazar_events.cli", "run", "--once"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "DEVELOPMENT MODE" in done.stdout
    assert done.stdout.count("[signature OK") == 4
    assert "all 4 events arrived, signed; the other project's did not." in done.stdout
