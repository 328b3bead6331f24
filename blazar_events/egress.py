"""Where delivery may go: the sink URL rules and the SSRF network policy.

Pure checks (:func:`check_url`, :func:`check_address`) plus :func:`resolve_and_check`, which the
API calls at create/update time and the delivery function calls again at connect time (DNS may
change in between; connecting to the addresses it returns pins them). Every refusal is a
:class:`SinkRefused` whose message names the rule, e.g. ``rule=private``.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from blazar_events.errors import SinkRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SCHEMES = ("http", "https")
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)

# (rule, networks); the first rule whose networks contain the address names the refusal.
_RULES: tuple[tuple[str, tuple[IPNetwork, ...]], ...] = tuple(
    (rule, tuple(ipaddress.ip_network(n) for n in nets))
    for rule, nets in (
        ("unspecified", ("0.0.0.0/8", "::/128")),
        ("loopback", ("127.0.0.0/8", "::1/128")),
        ("link-local", ("169.254.0.0/16", "fe80::/10")),
        ("private", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")),
        ("shared-address-space", ("100.64.0.0/10",)),
        ("multicast", ("224.0.0.0/4", "ff00::/8")),
        (
            "reserved",
            ("240.0.0.0/4", "192.0.0.0/24", "198.18.0.0/15", "2001:db8::/32", "100::/64"),
        ),
    )
)


@dataclass(frozen=True)
class Sink:
    """A sink URL that passed the syntax rules."""

    url: str
    scheme: str
    host: str
    port: int
    literal: IPAddress | None  # the host, when it is an IP address


def parse_networks(cidrs: Iterable[str]) -> tuple[IPNetwork, ...]:
    """The operator's allowed networks; a bad CIDR is a ValueError naming it."""
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"allowed network {cidr!r} is not a CIDR: {exc}") from None
    return tuple(networks)


def check_url(url: str) -> Sink:
    """Syntax rules: http/https, a host, no user:password@, a valid port."""
    if not isinstance(url, str) or not url or len(url) > 2048:
        raise SinkRefused("sink: a URL of at most 2048 characters is required (rule=url)")
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise SinkRefused(f"sink {url!r} is not a valid URL: {exc} (rule=url)") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise SinkRefused(f"sink {url!r}: scheme must be http or https (rule=scheme)")
    if "@" in parts.netloc:
        raise SinkRefused("sink: credentials in the URL are not allowed (rule=userinfo)")
    host = parts.hostname or ""
    if not host or any(c.isspace() for c in url):
        raise SinkRefused(f"sink {url!r}: a host is required (rule=host)")
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    return Sink(url, scheme, host, port or (443 if scheme == "https" else 80), literal)


def refusal(address: IPAddress, allowed: Sequence[IPNetwork] = ()) -> str | None:
    """The name of the rule that refuses ``address``, or None when delivery may go there."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address.version == net.version and address in net for net in allowed):
        return None
    if address in METADATA_ADDRESSES:
        return "metadata"
    for rule, networks in _RULES:
        if any(address.version == net.version and address in net for net in networks):
            return rule
    if address.is_multicast:
        return "multicast"
    return None


def check_address(address: IPAddress, allowed: Sequence[IPNetwork] = ()) -> None:
    rule = refusal(address, allowed)
    if rule is not None:
        raise SinkRefused(
            f"sink address {address} is refused (rule={rule}); an operator may allow its "
            "network in the api/functions allowed_networks setting",
            rule=rule,
        )


def resolve_and_check(
    url: str, allowed: Sequence[IPNetwork] = (), *, resolve: bool = True
) -> list[IPAddress]:
    """Every address the sink's host resolves to, each checked; refuse if any is refused.

    Refusing when *any* address is bad (not only the first) stops a host name that mixes a
    public and a private record from reaching the private one on a later connect.
    """
    sink = check_url(url)
    if sink.literal is not None:
        check_address(sink.literal, allowed)
        return [sink.literal]
    if not resolve:
        return []
    try:
        infos = socket.getaddrinfo(sink.host, sink.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise SinkRefused(
            f"sink host {sink.host!r} does not resolve: {exc} (rule=resolve)", rule="resolve"
        ) from None
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            check_address(address, allowed)
            addresses.append(address)
    return addresses
