"""The SSRF guard at connect time: the egress policy's address check, and the URL rules.

Checking the sink URL when the subscription is created is not enough: its DNS name may later
resolve to 169.254.169.254 (DNS rebinding). :class:`delivery.http1.HttpClient` resolves the
name for each new connection, refuses unless *every* address passes :func:`to_check`, and
connects to a checked address, keeping the name for ``Host`` and TLS SNI.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence

from blazar_events import egress

AddressCheck = Callable[[str], None]
"""Raises :class:`~blazar_events.errors.SinkRefused` for an address the policy refuses."""


def to_check(allowed: Sequence[egress.IPNetwork]) -> AddressCheck:
    """The egress policy's address check, allowing the operator's networks."""

    def check(host: str) -> None:
        egress.check_address(ipaddress.ip_address(host.split("%", 1)[0]), allowed)

    return check


def check_sink(url: str, check: AddressCheck) -> None:
    """The URL rules (scheme, no credentials), and the address if the host is an IP literal."""
    sink = egress.check_url(url)
    if sink.literal is not None:
        check(str(sink.literal))
