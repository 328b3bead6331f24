"""Process management of the stack: failures are reported at once, with the service's log."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from stack.errors import StackError
from stack.process import ManagedProcess
from stack.service import Service
from tests.conftest import free_port


@pytest.fixture(autouse=True)
def private_stack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BLAZAR_EVENTS_STACK_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A port that something other than the service listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _service(port: int, script: str) -> Service:
    class Fake(Service):
        name = "fake"
        ports = (port,)
        marker = "fake-service-marker"
        start_timeout = 60.0

        def address(self) -> str:
            return f"127.0.0.1:{port}"

        def command(self) -> tuple[list[str], dict[str, str]]:
            return ["sh", "-c", script, "fake-service-marker"], {}

        def probe(self) -> None:
            raise ConnectionError("not this one")

    return Fake()


def test_a_taken_port_is_named_in_the_error(listening_port: int) -> None:
    with pytest.raises(StackError, match=f"127.0.0.1:{listening_port} is taken"):
        _service(listening_port, "sleep 60").start()


def test_a_server_that_exits_fails_at_once_with_its_log() -> None:
    service = _service(free_port(), "echo 'cannot open the data dir' >&2; exit 3")
    with pytest.raises(StackError, match="exited during start-up") as error:
        service.start()
    assert "cannot open the data dir" in error.value.message


def test_stop_ends_the_process_and_forgets_it(tmp_path: Path) -> None:
    process = ManagedProcess("sleeper", tmp_path, "sleeper-marker")
    pid = process.spawn(["sh", "-c", "sleep 300", "sleeper-marker"])
    assert process.pid() == pid
    assert process.stop(timeout=10)
    assert process.pid() is None
    assert not process.pid_file.exists()
    assert not process.stop()  # stopping twice is harmless


def test_a_stale_pid_file_is_ignored(tmp_path: Path) -> None:
    process = ManagedProcess("ghost", tmp_path, "ghost-marker")
    process.pid_file.write_text("999999\n")
    assert process.pid() is None
    assert not process.pid_file.exists()
