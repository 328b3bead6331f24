"""The SSRF guard at connect time: the egress policy's address check, the URL rules, and the
resolver that only ever hands out checked addresses.

Checking the sink URL when the subscription is created is not enough: its DNS name may later
resolve to 169.254.169.254 (DNS rebinding). The pool (:mod:`delivery.pool`) asks
:class:`Resolver` for each new connection; it resolves the name, refuses unless *every*
address passes :func:`to_check`, and the connection goes to a checked address, keeping the
name for ``Host`` and TLS SNI.

Refusals name the rule, never the address: the delivery log is the tenant's to read, and an
address a tenant's name resolved to inside the cloud is not theirs to learn.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Sequence

from blazar_events import egress
from blazar_events.errors import SinkRefused

AddressCheck = Callable[[str], None]
"""Raises :class:`~blazar_events.errors.SinkRefused` for an address the policy refuses."""

Resolve = Callable[[str, int], Awaitable[list[str]]]
"""DNS: the addresses of (host, port); tests pass their own."""

_MAX_CACHED = 10_000


class NoAddress(OSError):
    """The sink's host name resolves to nothing."""


def to_check(allowed: Sequence[egress.IPNetwork]) -> AddressCheck:
    """The egress policy's address check, allowing the operator's networks."""

    def check(host: str) -> None:
        address = ipaddress.ip_address(host.split("%", 1)[0])
        rule = egress.refusal(address, allowed)
        if rule is not None:
            raise SinkRefused(
                f"the sink's address is refused (rule={rule}); an operator may allow its "
                "network in the [egress] allowed_networks setting",
                rule=rule,
            )

    return check


def check_sink(url: str, check: AddressCheck) -> None:
    """The URL rules (scheme, no credentials), and the address if the host is an IP literal."""
    sink = egress.check_url(url)
    if sink.literal is not None:
        check(str(sink.literal))


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class Resolver:
    """Checked addresses of a host, each answer reused for ``ttl`` seconds once it passed."""

    def __init__(self, check: AddressCheck, resolve: Resolve | None, ttl: float) -> None:
        self._check = check
        self._resolve = resolve or system_resolve
        self._ttl = ttl
        self._cache: dict[tuple[str, int], tuple[float, list[str]]] = {}

    async def addresses(self, host: str, port: int) -> list[str]:
        cached = self._cache.get((host, port))
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        addresses = await self._resolve(host, port)
        if not addresses:
            raise NoAddress(f"{host} resolves to no address")
        for address in addresses:
            self._check(address)
        if self._ttl > 0:
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
            self._cache[(host, port)] = (time.monotonic() + self._ttl, addresses)
        return addresses
