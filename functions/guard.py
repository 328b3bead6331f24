"""The SSRF guard at connect time: every address a sink resolves to is checked, and the
connection goes to a checked address.

Checking the sink URL when the subscription is created is not enough: its DNS name may later
resolve to 169.254.169.254 (DNS rebinding). aiohttp connects to exactly the addresses its
resolver returns, keeping the original name for ``Host`` and TLS SNI, so a resolver that
refuses unless *every* address passes the egress policy pins each connection to an address
that was checked. IP literals never reach a resolver; :func:`check_literal` covers them.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from blazar_events import egress

AddressCheck = Callable[[str], None]
"""Raises :class:`~blazar_events.errors.SinkRefused` for an address the policy refuses."""


def to_check(allowed: Sequence[egress.IPNetwork]) -> AddressCheck:
    """The egress policy's address check, allowing the operator's networks."""

    def check(host: str) -> None:
        egress.check_address(ipaddress.ip_address(host.split("%", 1)[0]), allowed)

    return check


class GuardedResolver(AbstractResolver):
    def __init__(self, check: AddressCheck, inner: AbstractResolver | None = None) -> None:
        self._check = check
        self._inner = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            self._check(result["host"])
        return results

    async def close(self) -> None:
        await self._inner.close()


def check_sink(url: str, check: AddressCheck) -> None:
    """The URL rules (scheme, no credentials), and the address if the host is an IP literal."""
    sink = egress.check_url(url)
    if sink.literal is not None:
        check(str(sink.literal))
