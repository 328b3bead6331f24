"""What every local service has in common: install, configure, start, probe, stop."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from stack.errors import StackError
from stack.layout import HOST, service_dir
from stack.process import ManagedProcess, exclusive, port_open, wait_ready


@dataclass(frozen=True)
class Status:
    name: str
    state: str  # running | external | stopped | not answering
    address: str
    pid: int | None = None
    detail: str = ""

    @property
    def answers(self) -> bool:
        return self.state in {"running", "external"}

    def line(self) -> str:
        pid = f"pid {self.pid}" if self.pid else ""
        extra = ", ".join(part for part in (pid, self.detail) if part)
        line = f"{self.name:<16} {self.state:<13} {self.address}"
        return line + (f"  ({extra})" if extra else "")


class Service(ABC):
    """One service of the stack; subclasses fill in the service-specific parts."""

    name: ClassVar[str]
    ports: ClassVar[tuple[int, ...]]
    marker: ClassVar[str]  # identifies our process in /proc/<pid>/cmdline
    start_timeout: ClassVar[float] = 60.0
    apt_packages: ClassVar[dict[str, str]] = {}  # program -> Debian package

    @property
    def directory(self) -> Path:
        return service_dir(self.name)

    @property
    def process(self) -> ManagedProcess:
        return ManagedProcess(self.name, self.directory, self.marker)

    @abstractmethod
    def address(self) -> str:
        """Where clients connect, as printed by ``stack up``."""

    @abstractmethod
    def command(self) -> tuple[list[str], dict[str, str]]:
        """The foreground command line and extra environment of the server."""

    @abstractmethod
    def probe(self) -> None:
        """Return when the service really answers; raise otherwise (within a few seconds)."""

    def install(self) -> None:
        """Fetch what apt does not provide (jars, a virtualenv); cached across runs."""
        return None  # nothing to do by default

    def prepare(self) -> None:
        """Write configuration and do one-time initialisation before each start."""
        return None  # nothing to do by default

    def after_start(self) -> None:
        """Idempotent set-up that needs the running service (topics, accounts)."""
        return None  # nothing to do by default

    def details(self) -> str:
        return f"data {self.directory}"

    def status(self) -> Status:
        pid = self.process.pid()
        answers = self._answers()
        if pid is not None:
            state = "running" if answers else "not answering"
            return Status(self.name, state, self.address(), pid, self.details())
        if answers:
            return Status(self.name, "external", self.address(), None, "not started by this stack")
        return Status(self.name, "stopped", self.address())

    @property
    def lock_file(self) -> Path:
        return self.directory / f"{self.name}.lock"

    def start(self) -> Status:
        """Start unless running; wait until the service answers; idempotent."""
        with exclusive(self.lock_file):
            return self._start()

    def _start(self) -> Status:
        pid = self.process.pid()
        if pid is None:
            busy = [port for port in self.ports if port_open(port)]
            if busy:
                return self._adopt(busy)
            self.install()
            self.prepare()
            argv, env = self.command()
            pid = self.process.spawn(argv, env)
        wait_ready(self.name, self.probe, self.start_timeout, self.process, pid)
        self.after_start()
        return Status(self.name, "running", self.address(), pid, self.details())

    def stop(self) -> bool:
        """Stop our process; False when this stack was not running it."""
        with exclusive(self.lock_file):
            return self.process.stop()

    def _answers(self) -> bool:
        try:
            self.probe()
        except Exception:  # any failure of a probe means "does not answer"
            return False
        return True

    def _adopt(self, busy: list[int]) -> Status:
        # Another stack folder (a second checkout, CI in a clone) may already serve these
        # ports; a service that answers correctly is used as it is, anything else is an error.
        if self._answers():
            self.after_start()
            return Status(self.name, "external", self.address(), None, "not started by this stack")
        ports = ", ".join(f"{HOST}:{port}" for port in busy)
        raise StackError(
            f"{self.name}: {ports} is taken by another program that is not a working "
            f"{self.name}; find it with `ss -ltnp` and stop it, then run `blazar-events stack up`"
        )
