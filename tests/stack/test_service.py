"""A stack service's life (stack/service.py) on a real process: a tiny HTTP server on a free
loopback port, in a stack folder of the test's own (the shared stack is not touched)."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stack.errors import StackError
from stack.layout import HOST, STACK_DIR_ENV
from stack.service import Service


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Web(Service):
    name = "web"
    marker = "http.server"
    start_timeout = 30.0

    def __init__(self, port: int) -> None:
        self.port = port
        self.ports = (port,)  # type: ignore[misc]  # a ClassVar on real services

    def address(self) -> str:
        return f"http://{HOST}:{self.port}"

    def command(self) -> tuple[list[str], dict[str, str]]:
        return [sys.executable, "-m", "http.server", "--bind", HOST, str(self.port)], {}

    def probe(self) -> None:
        httpx.get(self.address(), timeout=1).raise_for_status()


@pytest.fixture
def web(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Web]:
    monkeypatch.setenv(STACK_DIR_ENV, str(tmp_path))
    service = Web(free_port())
    yield service
    service.stop()


def test_start_waits_until_it_answers_is_idempotent_and_stop_ends_it(web: Web) -> None:
    assert web.status().state == "stopped"
    started = web.start()
    assert started.state == "running" and started.pid is not None
    assert web.start().pid == started.pid  # already running: the same process
    assert web.status().state == "running"
    assert web.stop() is True
    assert web.status().state == "stopped"
    assert web.stop() is False  # nothing of ours left to stop


def test_a_port_held_by_something_that_is_not_the_service_is_a_clear_error(web: Web) -> None:
    with socket.socket() as squatter:  # accepts connections, answers no HTTP
        squatter.bind((HOST, web.port))
        squatter.listen()
        with pytest.raises(StackError, match="taken by another program"):
            web.start()
