"""The broker process: a stop that hangs still ends."""

from __future__ import annotations

import subprocess
import sys
import time

HANGING_STOP = """
import time
from broker import service
service._exit_if_stuck(0.3)
time.sleep(30)  # a stop that never finishes
"""


def test_a_stop_that_outlives_its_deadline_dumps_the_stacks_and_exits() -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", HANGING_STOP], capture_output=True, text=True, timeout=20
    )
    assert done.returncode == 1
    assert time.monotonic() - started < 15
    assert "shutdown still running" in done.stderr
    assert "time.sleep(30)" in done.stderr or "<string>" in done.stderr  # the main stack
