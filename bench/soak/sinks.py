"""The subscribers: one real HTTP server per subscription on loopback, in one event loop.

Each verifies every request's signature with the ``standardwebhooks`` library (another
party's verifier, as a subscriber would use) against the secrets the soak was given, and
records the ``webhook-id``, the soak's sequence number found in the payload and the time.
A flaky sink answers 500 to 20 % of requests and holds 5 % for a while before answering.
A sink can be taken down (connections refused) and brought back on the same port.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from dataclasses import dataclass, field

import orjson
from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from workload import to_seq

SLOW_SECONDS = 3.0  # within every subscription's 10 s attempt timeout


@dataclass(frozen=True)
class Hit:
    seq: int | None
    webhook_id: str
    at: float
    verified: bool
    status: int  # what the sink answered


@dataclass
class SinkState:
    name: str
    port: int
    flaky: bool
    secrets: list[str] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    # Signature failures kept for one more look when a new secret becomes known (the
    # rotation's answer may arrive after the first delivery signed with the new secret).
    unverified: list[tuple[bytes, dict[str, str], int]] = field(default_factory=list)
    runner: web.AppRunner | None = None
    up: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.name}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Sinks:
    def __init__(self, run: str, seed: int) -> None:
        self.run = run
        self.rng = random.Random(seed ^ 0x5155)
        self.sinks: dict[str, SinkState] = {}
        self.lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="sinks", daemon=True)
        self.thread.start()

    def _call(self, coro: object, timeout: float = 30) -> object:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    def add(self, name: str, flaky: bool) -> SinkState:
        state = SinkState(name, free_port(), flaky)
        self.sinks[name] = state
        self.up(name)
        return state

    def up(self, name: str) -> None:
        self._call(self._up(self.sinks[name]))

    def down(self, name: str) -> None:
        self._call(self._down(self.sinks[name]))

    def trust(self, name: str, secret: str) -> None:
        """Verify ``name``'s requests with this secret too; recheck earlier failures."""
        state = self.sinks[name]
        with self.lock:
            state.secrets.append(secret)
            pending, state.unverified = state.unverified, []
        for body, headers, index in pending:
            if self._verify(state, body, headers):
                with self.lock:
                    hit = state.hits[index]
                    state.hits[index] = Hit(hit.seq, hit.webhook_id, hit.at, True, hit.status)
            else:
                with self.lock:
                    state.unverified.append((body, headers, index))

    def stop(self) -> None:
        for state in self.sinks.values():
            self._call(self._down(state))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    async def _up(self, state: SinkState) -> None:
        if state.up:
            return
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", lambda request: self._handle(state, request))
        state.runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await state.runner.setup()
        site = web.TCPSite(state.runner, "127.0.0.1", state.port, reuse_address=True)
        await site.start()
        state.up = True

    async def _down(self, state: SinkState) -> None:
        if state.runner is not None:
            await state.runner.cleanup()
            state.runner = None
        state.up = False

    async def _handle(self, state: SinkState, request: web.Request) -> web.Response:
        body = await request.read()
        at = time.time()
        headers = {k.lower(): v for k, v in request.headers.items()}
        seq: int | None = None
        try:
            data = orjson.loads(body)
            seq = to_seq(data.get("name") if isinstance(data, dict) else None, self.run)
        except orjson.JSONDecodeError:
            seq = None
        verified = self._verify(state, body, headers)
        status = 200
        if state.flaky:
            roll = self.rng.random()
            if roll < 0.20:
                status = 500
            elif roll < 0.25:
                await asyncio.sleep(SLOW_SECONDS)
        with self.lock:
            state.hits.append(Hit(seq, headers.get("webhook-id", ""), at, verified, status))
            if not verified:
                state.unverified.append((body, headers, len(state.hits) - 1))
        return web.Response(status=status)

    def _verify(self, state: SinkState, body: bytes, headers: dict[str, str]) -> bool:
        for secret in list(state.secrets):
            try:
                Webhook(secret).verify(body, headers, json_parse=False)
                return True
            except WebhookVerificationError:
                continue
        return False
