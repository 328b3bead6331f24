"""Where delivery may go: the sink URL rules and the SSRF network policy.

Pure checks (:func:`check_url`, :func:`check_address`) plus :func:`resolve_and_check`, which the
API calls at create/update time and the delivery function calls again at connect time (DNS may
change in between; connecting to the addresses it returns pins them). Every refusal is a
:class:`SinkRefused` whose message names the rule, e.g. ``rule=private``.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from blazar_events.errors import SinkRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SCHEMES = ("http", "https")
# Cloud instance metadata and host services: credentials live behind them, so no
# ``allowed_networks`` opens them (an operator allowing fc00::/7 or 100.64.0.0/10 for tenant
# networks must not open AWS's fd00:ec2::254 or Alibaba's 100.100.100.200 with them).
METADATA_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "169.254.169.254/32",  # AWS, GCE, Azure, OpenStack, Oracle, IBM, DigitalOcean...
        "169.254.170.0/24",  # AWS ECS task metadata, EKS pod identity
        "169.254.0.23/32",  # Tencent Cloud
        "fd00:ec2::/64",  # AWS instance services over IPv6 (IMDS, DNS, NTP, pod identity)
        "fd20:ce::254/128",  # GCE metadata over IPv6
        "100.100.100.200/32",  # Alibaba Cloud
        "168.63.129.16/32",  # Azure WireServer
        "192.0.0.192/32",  # Oracle Cloud (legacy)
    )
)
# Link-local never leaves the host's link; what answers there is the platform, not a tenant.
LINK_LOCAL_NETWORKS: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fe80::/10"),
)
# What a refusal says instead of the address: echoing a resolved address would let a tenant
# use the API as a DNS oracle for the cloud's internal names.
DESCRIPTIONS = {
    "metadata": "a cloud metadata endpoint",
    "link-local": "a link-local address",
    "unspecified": "an unspecified address",
    "loopback": "a loopback address",
    "private": "a private address",
    "shared-address-space": "a shared address space (carrier-grade NAT) address",
    "multicast": "a multicast address",
    "reserved": "a reserved address",
}
# Rules no setting lifts.
ALWAYS_REFUSED = frozenset({"metadata", "link-local"})

# IPv6 ranges that carry an IPv4 address in their last 32 bits and reach it through a
# translator or tunnel: NAT64 (RFC 6052), SIIT (RFC 2765), IPv4-compatible (RFC 4291).
_V4_SUFFIX_PREFIXES = tuple(
    ipaddress.ip_network(n) for n in ("64:ff9b::/96", "::ffff:0:0:0/96", "::/96")
)
# Label separators that IDNA (UTS 46) maps to ".", as HTTP clients do before connecting.
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_HOST_NAME = re.compile(r"^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\Z")
_NUMERIC_V4 = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}\Z")

# (rule, networks); the first rule whose networks contain the address names the refusal.
_RULES: tuple[tuple[str, tuple[IPNetwork, ...]], ...] = tuple(
    (rule, tuple(ipaddress.ip_network(n) for n in nets))
    for rule, nets in (
        ("unspecified", ("0.0.0.0/8", "::/128")),
        ("loopback", ("127.0.0.0/8", "::1/128")),
        ("private", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")),
        ("shared-address-space", ("100.64.0.0/10",)),
        ("multicast", ("224.0.0.0/4", "ff00::/8")),
        (
            "reserved",
            (
                "240.0.0.0/4",
                "192.0.0.0/24",
                "198.18.0.0/15",
                "2001:db8::/32",
                "100::/64",
                "64:ff9b:1::/48",
                "2001::/32",
                "fec0::/10",
            ),
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
    """Syntax rules: http/https, a host, no user:password@, a valid port.

    The host is judged the way an HTTP client will connect to it: Unicode digits and dots
    folded (``http://①②⑦。0。0。1/`` is 127.0.0.1 to aiohttp), a trailing dot dropped and
    inet_aton's numeric forms (``2130706433``, ``0x7f.1``, ``127.1``) read as the address they
    are, so that a literal is checked even where no resolver runs.
    """
    if not isinstance(url, str) or not url or len(url) > 2048:
        raise SinkRefused("sink: a URL of at most 2048 characters is required (rule=url)")
    if any(c.isspace() or unicodedata.category(c) == "Cc" or c == "\\" for c in url):
        raise SinkRefused(
            f"sink {url!r}: whitespace, control characters and backslashes are not allowed "
            "(rule=url)"
        )
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise SinkRefused(f"sink {url!r} is not a valid URL: {exc} (rule=url)") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise SinkRefused(f"sink {url!r}: scheme must be http or https (rule=scheme)")
    if not (parts.path + parts.query + parts.fragment).isascii():
        # Only the host may be international (IDNA); the rest goes on the request line as is.
        raise SinkRefused(f"sink {url!r}: percent-encode non-ASCII path characters (rule=url)")
    if "@" in parts.netloc:
        raise SinkRefused("sink: credentials in the URL are not allowed (rule=userinfo)")
    if port == 0:
        raise SinkRefused(f"sink {url!r}: port 0 is not a port one can connect to (rule=url)")
    host, literal = to_host(parts.hostname or "", url)
    return Sink(url, scheme, host, port or (443 if scheme == "https" else 80), literal)


def to_host(raw: str, url: str) -> tuple[str, IPAddress | None]:
    """The host as a client connects to it (ASCII, no trailing dot) and its IP, if literal."""
    if not raw:
        raise SinkRefused(f"sink {url!r}: a host is required (rule=host)")
    if ":" in raw:  # only an IPv6 literal has colons; urlsplit kept it from the brackets
        try:
            return raw, ipaddress.IPv6Address(raw)
        except ValueError:
            raise SinkRefused(
                f"sink {url!r}: {raw!r} is not an IPv6 address (zone ids are not allowed) "
                "(rule=host)"
            ) from None
    host = unicodedata.normalize("NFKC", raw).translate(_DOTS).casefold()
    host = host[:-1] if host.endswith(".") else host
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise SinkRefused(
                f"sink {url!r}: {raw!r} is not a valid host name (rule=host)"
            ) from None
    if _NUMERIC_V4.match(host):
        try:
            return host, ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            raise SinkRefused(f"sink {url!r}: {raw!r} is not an IPv4 address (rule=host)") from None
    if not _HOST_NAME.match(host) or len(host) > 253:
        raise SinkRefused(f"sink {url!r}: {raw!r} is not a valid host name (rule=host)")
    return host, None


def _contains(networks: Iterable[IPNetwork], address: IPAddress) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def to_unallowable(address: IPAddress) -> str | None:
    """``metadata`` or ``link-local`` when ``address`` (or the IPv4 it embeds) is one."""
    embedded = to_embedded_v4(address) if isinstance(address, ipaddress.IPv6Address) else None
    for candidate in (address, embedded):
        if candidate is None:
            continue
        if _contains(METADATA_NETWORKS, candidate):
            return "metadata"
        if _contains(LINK_LOCAL_NETWORKS, candidate):
            return "link-local"
    return None


def refusal(address: IPAddress, allowed: Sequence[IPNetwork] = ()) -> str | None:
    """The name of the rule that refuses ``address``, or None when delivery may go there.

    Metadata endpoints and link-local addresses are judged first: no allowed network lifts
    them.
    """
    rule = to_unallowable(address)
    if rule is not None:
        return rule
    embedded = to_embedded_v4(address) if isinstance(address, ipaddress.IPv6Address) else None
    if any(
        a.version == net.version and a in net for a in (address, embedded) if a for net in allowed
    ):
        return None
    if embedded is not None:
        # The IPv4 address behind a mapped/translated/6to4 IPv6 one is where packets land.
        rule = refusal(embedded)
        if rule is not None:
            return rule
    for rule, networks in _RULES:
        if _contains(networks, address):
            return rule
    if address.is_multicast:
        return "multicast"
    if not address.is_global and not (embedded and embedded.is_global):
        return "reserved"  # whatever IANA lists as not globally reachable
    return None


def to_embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one reaches through mapping, translation or 6to4, if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if int(address) > 1 and any(address in net for net in _V4_SUFFIX_PREFIXES):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def check_address(address: IPAddress, allowed: Sequence[IPNetwork] = ()) -> None:
    """Raise :class:`SinkRefused` naming the rule, never the address (no DNS oracle)."""
    rule = refusal(address, allowed)
    if rule is None:
        return
    hint = (
        "no setting allows it"
        if rule in ALWAYS_REFUSED
        else "an operator may allow such a network in the [egress] allowed_networks setting"
    )
    raise SinkRefused(
        f"the sink resolves to {DESCRIPTIONS.get(rule, 'an address')} (rule={rule}); {hint}",
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
        if sink.host == "localhost" or sink.host.endswith(".localhost"):
            # RFC 6761: such names are loopback whatever a resolver may later say.
            check_address(ipaddress.IPv4Address("127.0.0.1"), allowed)
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
