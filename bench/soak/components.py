"""The product's components as separate processes (``blazar-events <command>``, as systemd
runs them), each in its own session so that a SIGKILL takes its whole process group
(gunicorn's workers with the API's master), and each on the soak's private names.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


class Component:
    def __init__(self, name: str, command: str, env: dict[str, str], logs: Path) -> None:
        self.name, self.command, self.env = name, command, env
        self.log = logs / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            out.write(f"\n--- {time.strftime('%H:%M:%S')} start #{self.starts + 1}\n".encode())
            out.flush()
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "blazar_events.cli", self.command],
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def exited(self) -> int | None:
        """The exit code if the process ended by itself (not by the soak's SIGKILL)."""
        if self.popen is None:
            return None
        code = self.popen.poll()
        return code if code not in (None, -signal.SIGKILL) else None

    def kill(self) -> None:
        """SIGKILL the whole group: no goodbye, no final commit, no ack."""
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(30)

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            self._reap_group()
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()
        self._reap_group()

    def _reap_group(self) -> None:
        # gunicorn workers may outlive their master by a moment: end the group either way.
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signal.SIGKILL)
