"""One delivery attempt over HTTP: the only module here that does network I/O.

The standalone broker drives thousands of attempts a second from one event loop, so the
attempt uses the lean pooled client of :mod:`delivery.http1` (see bench/delivery/RESULTS.md
for what a general-purpose client cost) with the SSRF guard inside it: every address a sink
resolves to is checked, and the connection goes to a checked one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from blazar_events import egress
from blazar_events.errors import BlazarEventsError, SinkRefused
from blazar_events.settings import EgressSettings
from delivery import outcomes
from delivery.failures import to_retry
from delivery.http1 import HttpClient, Response
from delivery.outcomes import Attempt, Outcome
from delivery.projects import ProjectSlots
from delivery.request import Payload, Target, to_wire
from delivery.resolver import Resolve, check_sink, to_check
from delivery.settings import DeliverySettings


class Sender:
    """Makes attempts; create it inside the event loop that will use it, close it when done."""

    def __init__(self, settings: DeliverySettings, resolve: Resolve | None = None) -> None:
        """``resolve`` replaces DNS (tests); the egress policy always checks its answers."""
        self.settings = settings
        policy = EgressSettings.load_for(settings)
        self._check = to_check(egress.parse_networks(policy.allowed_networks))
        self._sinks_checked: set[str] = set()  # URL rules never change for a URL
        self.projects = ProjectSlots(settings.max_connections_per_project)
        self.client = HttpClient(
            self._check,
            resolve,
            dns_cache_seconds=settings.dns_cache_seconds,
            max_connections=settings.max_connections,
            max_connections_per_sink=settings.max_connections_per_sink,
            max_head=settings.max_response_head_bytes,
            max_body=settings.max_response_bytes,
        )

    async def close(self) -> None:
        await self.client.close()

    async def attempt(
        self, target: Target, payload: Payload, secrets: Sequence[str], number: int = 1
    ) -> Attempt:
        """One attempt; never raises for anything the sink or the network does."""
        started = time.time()
        clock = time.perf_counter()
        outcome = await self._send(target, payload, secrets, started)
        return Attempt(outcome, started, time.perf_counter() - clock, number)

    async def _send(
        self, target: Target, payload: Payload, secrets: Sequence[str], started: float
    ) -> Outcome:
        timeout = target.timeout or self.settings.default_timeout
        try:
            if target.sink not in self._sinks_checked:
                check_sink(target.sink, self._check)
                if len(self._sinks_checked) < 100_000:
                    self._sinks_checked.add(target.sink)
            lines, body = to_wire(target, payload, secrets, int(started))
            response = await self._request(target, lines, body, timeout)
            return outcomes.from_status(
                response.status, response.retry_after, self.settings.retry_after_cap
            )
        except SinkRefused as exc:
            return outcomes.PermanentFailure(f"refused by the egress policy: {exc.message}")
        except BlazarEventsError as exc:
            return outcomes.PermanentFailure(exc.message)
        except OSError as exc:  # the network, TLS, the sink's bytes, the deadline
            return to_retry(exc, timeout)
        except UnicodeError as exc:  # a header the subscription set that HTTP cannot carry
            return outcomes.PermanentFailure(f"the request cannot be encoded: {type(exc).__name__}")
        except ValueError as exc:
            return outcomes.PermanentFailure(f"invalid sink URL: {exc}")

    async def _request(self, target: Target, lines: bytes, body: bytes, timeout: float) -> Response:
        """The request, within the project's cap of attempts in flight (its wait included in
        the attempt's timeout)."""
        project = target.project_id
        if not project:
            return await self.client.send(target.method, target.sink, lines, body, timeout)
        if not self.projects.try_take(project):
            loop = asyncio.get_running_loop()
            started = loop.time()
            await self.projects.take(project, timeout)
            timeout = max(0.0, timeout - (loop.time() - started))
        try:
            return await self.client.send(target.method, target.sink, lines, body, timeout)
        finally:
            self.projects.give_back(project)
