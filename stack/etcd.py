"""etcd (built from source), the Kubernetes API server's storage, on 127.0.0.1:23790."""

from __future__ import annotations

import httpx

from stack.kubebuild import binary, ensure_built
from stack.layout import ETCD_PEER_PORT, ETCD_PORT, ETCD_URL, HOST
from stack.service import Service

NAME = "blazar-events-etcd"


class Etcd(Service):
    name = "etcd"
    ports = (ETCD_PORT, ETCD_PEER_PORT)
    marker = f"--name={NAME}"
    start_timeout = 30.0

    def address(self) -> str:
        return ETCD_URL

    def install(self) -> None:
        ensure_built()

    def command(self) -> tuple[list[str], dict[str, str]]:
        peer = f"http://{HOST}:{ETCD_PEER_PORT}"
        argv = [
            str(binary("etcd")),
            f"--name={NAME}",
            f"--data-dir={self.directory / 'data'}",
            f"--listen-client-urls={ETCD_URL}",
            f"--advertise-client-urls={ETCD_URL}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster={NAME}={peer}",
            "--log-level=warn",
            # Test objects only: a small backend, compacted hourly.
            "--quota-backend-bytes=1073741824",
            "--auto-compaction-retention=1",
        ]
        return argv, {}

    def probe(self) -> None:
        response = httpx.get(f"{ETCD_URL}/health", timeout=2.0)
        response.raise_for_status()
        if response.json().get("health") != "true":
            raise ConnectionError(f"etcd is not healthy: {response.text[:200]}")
