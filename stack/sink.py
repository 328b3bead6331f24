"""A real HTTP sink on loopback that verifies and records every delivery it receives.

Used by ``blazar-events run`` to show signed CloudEvents arriving, and by the tests as the
subscriber's endpoint. Each request is checked with the ``standardwebhooks`` reference
library (a third-party verifier, as a subscriber would use) and parsed with the CloudEvents
SDK. Paths can be told to answer with scripted statuses or to hang, to play a failing sink.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import http
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

HANG = -1
"""A scripted answer: keep the request open until the sink stops (a hung subscriber)."""


@dataclass
class Received:
    path: str
    method: str
    headers: dict[str, str]
    body: bytes
    at: float
    event: BaseCloudEvent | None = None
    verified: bool | None = None  # None: no secret known for this path
    error: str = ""


@dataclass
class _Script:
    answers: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    default: tuple[int, dict[str, str]] = (200, {})


class Sink:
    """Start with :meth:`start` (or as a context manager); URLs come from :meth:`url`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.received: list[Received] = []
        self.on_receive: Callable[[Received], None] | None = None
        self._secrets: dict[str, list[str]] = {}
        self._scripts: dict[str, _Script] = defaultdict(_Script)
        self._lock = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()

    # --- control ------------------------------------------------------------------------

    def start(self) -> Sink:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> Sink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, path: str = "") -> str:
        return f"http://{self.host}:{self.port}/{path.lstrip('/')}"

    def verify_with(self, path: str, *secrets: str) -> None:
        """Verify requests to ``path`` with any of these ``whsec_`` secrets."""
        self._secrets["/" + path.lstrip("/")] = list(secrets)

    def answer(self, path: str, *statuses: int, headers: dict[str, str] | None = None) -> None:
        """Answer the next requests to ``path`` with these statuses (``HANG`` hangs), in order."""
        script = self._scripts["/" + path.lstrip("/")]
        script.answers.extend((status, dict(headers or {})) for status in statuses)

    def answer_always(self, path: str, status: int, headers: dict[str, str] | None = None) -> None:
        script = self._scripts["/" + path.lstrip("/")]
        script.answers.clear()
        script.default = (status, dict(headers or {}))

    def requests(self, path: str | None = None) -> list[Received]:
        with self._lock:
            if path is None:
                return list(self.received)
            wanted = "/" + path.lstrip("/")
            return [r for r in self.received if r.path == wanted]

    def wait_for(
        self, predicate: Callable[[list[Received]], bool], timeout: float = 30.0
    ) -> list[Received]:
        """Block until ``predicate(requests so far)`` holds; TimeoutError if it never does."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(self.received):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"the sink saw {len(self.received)} request(s), not what was awaited"
                    )
                self._lock.wait(min(left, 0.5))
            return list(self.received)

    # --- server -------------------------------------------------------------------------

    async def _start(self) -> None:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _stop(self) -> None:
        self._stopping.set()
        assert self._runner is not None
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        record = self._record(request.path, request.method, dict(request.headers), body)
        with self._lock:
            self.received.append(record)
            self._lock.notify_all()
        if self.on_receive is not None:
            self.on_receive(record)
        script = self._scripts[request.path]
        status, headers = script.answers.popleft() if script.answers else script.default
        if status == HANG:
            await self._stopping.wait()
            status = 503
        return web.Response(status=status, headers=headers)

    def _record(self, path: str, method: str, headers: dict[str, str], body: bytes) -> Received:
        record = Received(path, method, headers, body, time.time())
        try:
            record.event = http.from_http_event(http.HTTPMessage(headers=headers, body=body))
        except Exception as exc:  # a sink reports what it could not parse; it never crashes
            record.error = f"not a CloudEvent: {exc}"
        secrets = self._secrets.get(path)
        if secrets:
            record.verified = _verify(secrets, body, headers)
            if not record.verified:
                record.error = record.error or "signature does not verify"
        return record


def _verify(secrets: Iterable[str], body: bytes, headers: dict[str, Any]) -> bool:
    for secret in secrets:
        try:
            Webhook(secret).verify(body, headers, json_parse=False)
            return True
        except WebhookVerificationError:
            continue
    return False
