"""One delivery attempt over HTTP: the only module here that does network I/O.

aiohttp with one shared, pooled session: the standalone broker drives thousands of attempts
a second from one event loop, which a client that builds a connection per request or a
thread per request cannot (see bench/delivery/RESULTS.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import aiohttp
from aiohttp.abc import AbstractResolver

from blazar_events import egress
from blazar_events.errors import BlazarEventsError, SinkRefused
from functions import outcomes
from functions.guard import GuardedResolver, check_sink, to_check
from functions.outcomes import Attempt, Outcome
from functions.request import Payload, Target, to_request
from functions.settings import FunctionSettings


class Sender:
    """Makes attempts; create it inside the event loop that will use it, close it when done."""

    def __init__(
        self,
        settings: FunctionSettings,
        resolver: AbstractResolver | None = None,
    ) -> None:
        """``resolver`` replaces DNS (tests); the egress policy always checks its answers."""
        self.settings = settings
        check = to_check(egress.parse_networks(settings.allowed_networks))
        self._check = check
        self._sinks_checked: set[str] = set()  # URL rules and literal addresses never change
        connector = aiohttp.TCPConnector(
            limit=settings.max_connections,
            limit_per_host=0,
            ttl_dns_cache=settings.dns_cache_seconds,
            resolver=GuardedResolver(check, resolver),
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            # The subscription's timeout is applied per request; no cookies between sinks.
            timeout=aiohttp.ClientTimeout(total=None),
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trust_env=False,
        )

    async def close(self) -> None:
        await self._session.close()

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
            headers, body = to_request(target, payload, secrets, int(started))
            async with self._session.request(
                target.method,
                target.sink,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                # Read (a bounded part of) the answer so the connection can be reused.
                await response.content.read(self.settings.max_response_bytes)
                return outcomes.from_status(
                    response.status,
                    response.headers.get("Retry-After"),
                    self.settings.retry_after_cap,
                )
        except SinkRefused as exc:
            return outcomes.PermanentFailure(f"refused by the egress policy: {exc.message}")
        except BlazarEventsError as exc:
            return outcomes.PermanentFailure(exc.message)
        except TimeoutError:
            return outcomes.Retry(f"no answer within {timeout:g} s")
        except (aiohttp.InvalidURL, ValueError) as exc:
            return outcomes.PermanentFailure(f"invalid sink URL: {exc}")
        except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError) as exc:
            return outcomes.Retry(f"network error: {type(exc).__name__}: {exc}".rstrip(": "))
