import ipaddress

import pytest

from blazar_events.egress import (
    check_address,
    check_url,
    parse_networks,
    refusal,
    resolve_and_check,
)
from blazar_events.errors import SinkRefused


@pytest.mark.parametrize(
    ("address", "rule"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "metadata"),
        ("169.254.10.1", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd12::1", "private"),
        ("100.64.0.1", "shared-address-space"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("255.255.255.255", "reserved"),
    ],
)
def test_internal_addresses_are_refused_with_their_rule(address: str, rule: str) -> None:
    assert refusal(ipaddress.ip_address(address)) == rule
    with pytest.raises(SinkRefused, match=f"rule={rule}"):
        check_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700::1111", "203.0.114.1"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def test_operator_allowed_network_permits_it_and_nothing_else() -> None:
    allowed = parse_networks(["10.0.0.0/24", "fd00:1::/64"])
    assert refusal(ipaddress.ip_address("10.0.0.7"), allowed) is None
    assert refusal(ipaddress.ip_address("fd00:1::7"), allowed) is None
    assert refusal(ipaddress.ip_address("10.0.1.7"), allowed) == "private"


def test_bad_cidr_is_named() -> None:
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33'"):
        parse_networks(["10.0.0.0/33"])


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("file:///etc/passwd", "scheme"),
        ("gopher://x.example/", "scheme"),
        ("http://user@x.example/", "userinfo"),
        ("http://u:p@x.example/", "userinfo"),
        ("http://", "host"),
        ("http://x.example:99999/", "url"),
        ("", "url"),
    ],
)
def test_url_rules(url: str, rule: str) -> None:
    with pytest.raises(SinkRefused, match=f"rule={rule}"):
        check_url(url)


def test_url_defaults_port_by_scheme() -> None:
    assert check_url("https://x.example/p").port == 443
    assert check_url("http://[2001:db8::1]:8080/").literal == ipaddress.ip_address("2001:db8::1")


def test_literal_ip_sink_is_checked_without_dns() -> None:
    with pytest.raises(SinkRefused, match="rule=loopback"):
        resolve_and_check("http://127.0.0.1:8080/")
    assert resolve_and_check("http://10.0.0.5/", parse_networks(["10.0.0.0/8"])) == [
        ipaddress.ip_address("10.0.0.5")
    ]


def test_host_name_resolving_to_loopback_is_refused() -> None:
    with pytest.raises(SinkRefused, match="rule=loopback"):
        resolve_and_check("http://localhost:9/")


def test_unresolvable_host_is_refused_with_the_resolve_rule() -> None:
    with pytest.raises(SinkRefused, match="rule=resolve"):
        resolve_and_check("http://does-not-exist.invalid/")
