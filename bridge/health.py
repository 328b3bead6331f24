"""The bridge's HTTP side: ``/metrics`` (Prometheus text), ``/healthz`` and ``/readyz``.

A plain threaded ``http.server``: three read-only routes do not need a framework.
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bridge.metrics import Health, Metrics

LOG = logging.getLogger(__name__)


class HealthServer:
    """Serves the probes in a daemon thread; ``port`` is the bound one (0 picks a free one)."""

    def __init__(self, host: str, port: int, metrics: Metrics, health: Health) -> None:
        handler = _handler(metrics, health)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="bridge-http", daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        LOG.info("health and metrics on http://%s:%d/", self.host, self.port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(metrics: Metrics, health: Health) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._reply(200, generate_latest(metrics.registry), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                alive = health.alive()
                self._reply(200 if alive else 503, b"ok\n" if alive else b"stalled\n")
            elif path == "/readyz":
                ready, why = health.ready()
                self._reply(200 if ready else 503, why.encode() + b"\n")
            else:
                self._reply(404, b"not found\n")

        def _reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            LOG.debug("http %s", format % args)

    return Handler
