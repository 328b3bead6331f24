"""Background processes with pid files, port checks and readiness waits.

Each service runs in its own session (process group) so that stopping it also stops the
helpers it forks (the rabbitmq-server shell and its Erlang VM, gunicorn and its workers).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from stack.errors import StackError
from stack.layout import HOST


def port_open(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (two `stack up` at once must not both spawn)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def tail(path: Path, lines: int = 25) -> str:
    """The last lines of a log file, for error messages."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 16384))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return "(no log yet)"
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


def _reap(pid: int) -> None:
    # A process we spawned in this interpreter (tests restarting a service) lingers as a zombie
    # until waited for; a zombie must count as dead.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _exists(pid: int) -> bool:
    """Whether the process runs (a zombie does not count)."""
    _reap(pid)
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def _alive(pid: int, marker: str) -> bool:
    """Whether ``pid`` runs and is ours: the marker guards against a recycled pid."""
    for _ in range(5):
        if not _exists(pid):
            return False
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if marker.encode() in cmdline.read():
                    return True
        except OSError:
            return False
        # Servers that rewrite their process title (redis-server does) show a partial
        # command line for an instant: look again before calling the pid file stale.
        time.sleep(0.02)
    return False


@dataclass(frozen=True)
class ManagedProcess:
    """One background process: ``<dir>/<name>.pid`` and ``<dir>/<name>.log``."""

    name: str
    directory: Path
    marker: str  # a fragment of the command line that identifies the process

    @property
    def pid_file(self) -> Path:
        return self.directory / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.directory / f"{self.name}.log"

    def pid(self) -> int | None:
        """The pid of the running process, or None (a stale pid file is removed)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if _alive(pid, self.marker):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def spawn(
        self, argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {argv[0]}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd or self.directory,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        return proc.pid

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM the process group, SIGKILL it after ``timeout``; False if it was not running."""
        pid = self.pid()
        if pid is None:
            return False
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _exists(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        # The group may outlive its leader (a worker mid-shutdown): end it either way.
        _signal_group(pid, signal.SIGKILL)
        while _exists(pid):
            time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def wait_ready(
    what: str,
    probe: Callable[[], None],
    timeout: float,
    process: ManagedProcess | None = None,
    pid: int | None = None,
) -> None:
    """Call ``probe`` until it returns; raise StackError on timeout or when the process dies."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            probe()
            return
        except Exception as exc:  # any failure of a probe means "not yet"
            last = exc
        if process is not None and pid is not None and not _exists(pid):
            raise StackError(
                f"{what} exited during start-up; last lines of {process.log_file}:\n"
                f"{tail(process.log_file)}"
            )
        time.sleep(0.3)
    log = f"; last lines of {process.log_file}:\n{tail(process.log_file)}" if process else ""
    raise StackError(f"{what} did not answer within {timeout:.0f}s ({last}){log}")


def run_step(
    what: str,
    argv: Sequence[str],
    log_file: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> None:
    """Run an install/setup command to completion, its output appended to ``log_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        log.write(f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(argv)}\n".encode())
        log.flush()
        try:
            result = subprocess.run(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env={**os.environ, **(env or {})},
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError:
            raise StackError(f"{what} failed: {argv[0]} not found") from None
        except subprocess.TimeoutExpired:
            raise StackError(
                f"{what} did not finish within {timeout:.0f}s; last lines of {log_file}:\n"
                f"{tail(log_file)}"
            ) from None
    if result.returncode != 0:
        raise StackError(
            f"{what} failed (exit {result.returncode}); last lines of {log_file}:\n{tail(log_file)}"
        )
