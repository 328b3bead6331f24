"""Redis from Debian's redis-server, on 127.0.0.1:6380 with an append-only file."""

from __future__ import annotations

import redis as redis_client

from stack.layout import HOST, REDIS_PORT, REDIS_URL
from stack.service import Service


class Redis(Service):
    name = "redis"
    ports = (REDIS_PORT,)
    marker = "redis-server"
    start_timeout = 20.0
    apt_packages = {"redis-server": "redis-server"}

    def address(self) -> str:
        return REDIS_URL

    def prepare(self) -> None:
        data = self.directory / "data"
        data.mkdir(exist_ok=True)
        # appendonly: tests restart Redis mid-run and expect their keys back.
        (self.directory / "redis.conf").write_text(
            f"bind {HOST}\n"
            f"port {REDIS_PORT}\n"
            "protected-mode yes\n"
            "daemonize no\n"
            f'dir "{data}"\n'
            "appendonly yes\n"
            "appendfsync everysec\n"
            'logfile ""\n'
            "databases 16\n"
        )

    def command(self) -> tuple[list[str], dict[str, str]]:
        return ["redis-server", str(self.directory / "redis.conf")], {}

    def probe(self) -> None:
        client = redis_client.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        try:
            if not client.ping():
                raise ConnectionError("PING did not answer PONG")
        finally:
            client.close()
