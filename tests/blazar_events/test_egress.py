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


# --- hostile forms (each was a way past the policy) -----------------------------------------


@pytest.mark.parametrize(
    ("address", "rule"),
    [
        ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64 of 169.254.169.254
        ("64:ff9b::7f00:1", "loopback"),
        ("64:ff9b:1::a9fe:a9fe", "reserved"),  # local-use NAT64, any embedding
        ("2002:a9fe:a9fe::", "metadata"),  # 6to4 of 169.254.169.254
        ("2002:0a00:0001::1", "private"),
        ("::7f00:1", "loopback"),  # IPv4-compatible
        ("::ffff:0:7f00:1", "loopback"),  # SIIT IPv4-translated
        ("::ffff:0:a9fe:a9fe", "metadata"),
        ("2001::a9fe:a9fe", "reserved"),  # Teredo
        ("fec0::1", "reserved"),  # site-local
        ("198.51.100.1", "reserved"),  # TEST-NET-2: not globally reachable
    ],
)
def test_embedded_and_non_global_addresses_are_refused(address: str, rule: str) -> None:
    assert refusal(ipaddress.ip_address(address)) == rule


def test_embedded_ipv4_in_an_allowed_network_passes() -> None:
    allowed = parse_networks(["10.0.0.0/8"])
    assert refusal(ipaddress.ip_address("64:ff9b::a00:1"), allowed) is None
    assert refusal(ipaddress.ip_address("64:ff9b::8.8.8.8")) is None


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://2130706433/", "127.0.0.1"),
        ("http://0177.0.0.1/", "127.0.0.1"),
        ("http://0x7f.1/", "127.0.0.1"),
        ("http://127.1/", "127.0.0.1"),
        ("http://0/", "0.0.0.0"),
        ("http://169.254.169.254./", "169.254.169.254"),
        ("http://\u2460\u2461\u2466.0.0.1/", "127.0.0.1"),  # circled digits, as aiohttp folds them
        ("http://\uff11\uff12\uff17.0.0.1/", "127.0.0.1"),  # full-width digits
        ("http://127\u30020\u30020\u30021/", "127.0.0.1"),  # ideographic full stops
        ("HTTP://[0:0:0:0:0:ffff:169.254.169.254]/", "::ffff:a9fe:a9fe"),
    ],
)
def test_ip_literals_in_any_spelling_are_checked_without_dns(url: str, address: str) -> None:
    assert check_url(url).literal == ipaddress.ip_address(address)
    with pytest.raises(SinkRefused, match="rule="):
        resolve_and_check(url, resolve=False)


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://localhost./", "loopback"),
        ("http://LOCALHOST/", "loopback"),
        ("http://api.localhost/", "loopback"),
        ("http://\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3/", "loopback"),
        ("http://x.example:0/", "url"),
        ("http://127.0.0.1\\.evil.example/", "url"),
        ("http://%31%32%37.0.0.1/", "host"),
        ("http://127.0.0.1#@evil.example/", "loopback"),
        ("http://evil.example@127.0.0.1/", "userinfo"),
        ("http://x.example\u0000/", "url"),
    ],
)
def test_hostile_urls_are_refused_even_without_dns(url: str, rule: str) -> None:
    with pytest.raises(SinkRefused, match=f"rule={rule}"):
        resolve_and_check(url, resolve=False)


def test_host_names_are_kept_for_the_resolver() -> None:
    assert check_url("https://Hooks.Example.org./x").host == "hooks.example.org"
    assert check_url("https://b\u00fccher.example/").host == "xn--bcher-kva.example"
    assert check_url("https://my_service.example/").literal is None


def test_localhost_names_without_dns_follow_the_operator_allowance() -> None:
    with pytest.raises(SinkRefused, match="rule=loopback"):
        resolve_and_check("http://localhost./", resolve=False)
    assert (
        resolve_and_check("http://localhost/", parse_networks(["127.0.0.0/8"]), resolve=False) == []
    )


def test_only_the_host_may_be_non_ascii() -> None:
    with pytest.raises(SinkRefused, match="rule=url"):
        check_url("https://hooks.example/\u20ac?q=\u00e9")
    assert check_url("https://hooks.example/%E2%82%AC").host == "hooks.example"


# --- metadata endpoints and link-local: refused whatever the operator allows ----------------


@pytest.mark.parametrize(
    ("allowed", "address", "rule"),
    [
        ("fc00::/7", "fd00:ec2::254", "metadata"),  # AWS IMDS over IPv6
        ("fc00::/7", "fd00:ec2::23", "metadata"),  # EKS pod identity
        ("fc00::/7", "fd20:ce::254", "metadata"),  # GCE metadata over IPv6
        ("100.64.0.0/10", "100.100.100.200", "metadata"),  # Alibaba Cloud
        ("0.0.0.0/0", "169.254.169.254", "metadata"),
        ("169.254.0.0/16", "169.254.169.254", "metadata"),
        ("169.254.0.0/16", "169.254.170.2", "metadata"),  # ECS task metadata
        ("0.0.0.0/0", "168.63.129.16", "metadata"),  # Azure WireServer
        ("192.0.0.0/24", "192.0.0.192", "metadata"),  # Oracle Cloud
        ("169.254.0.0/16", "169.254.10.1", "link-local"),
        ("fe80::/10", "fe80::1", "link-local"),
        ("::/0", "fe80::1", "link-local"),
        ("64:ff9b::/96", "64:ff9b::a9fe:a9fe", "metadata"),  # NAT64 of 169.254.169.254
        ("::/0", "::ffff:169.254.169.254", "metadata"),
        ("::/0", "2002:a9fe:a9fe::", "metadata"),  # 6to4 of 169.254.169.254
    ],
)
def test_metadata_and_link_local_stay_refused_whatever_is_allowed(
    allowed: str, address: str, rule: str
) -> None:
    networks = parse_networks([allowed])
    assert refusal(ipaddress.ip_address(address), networks) == rule
    with pytest.raises(SinkRefused, match=f"rule={rule}"):
        check_address(ipaddress.ip_address(address), networks)


def test_allowing_a_range_still_allows_its_other_addresses() -> None:
    allowed = parse_networks(["fc00::/7", "100.64.0.0/10"])
    assert refusal(ipaddress.ip_address("fd00:ec3::1"), allowed) is None
    assert refusal(ipaddress.ip_address("100.100.100.201"), allowed) is None


# --- refusals name the rule, never the address (no DNS oracle) ------------------------------


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("10.20.30.40", "a private address"),
        ("127.0.0.1", "a loopback address"),
        ("169.254.169.254", "a cloud metadata endpoint"),
        ("fd00:ec2::254", "a cloud metadata endpoint"),
        ("100.64.1.2", "a shared address space"),
        ("::ffff:10.9.8.7", "a private address"),
    ],
)
def test_a_refusal_names_the_rule_not_the_address(address: str, words: str) -> None:
    ip = ipaddress.ip_address(address)
    with pytest.raises(SinkRefused) as raised:
        check_address(ip)
    message = raised.value.message
    assert words in message
    assert address not in message and str(ip) not in message
    assert not any(part in message for part in (ip.exploded, "10.9.8.7"))


def test_a_host_name_resolving_internally_is_refused_without_its_address() -> None:
    with pytest.raises(SinkRefused) as raised:
        resolve_and_check("http://localhost:8080/hook")
    assert "a loopback address" in raised.value.message
    assert "127.0.0.1" not in raised.value.message and "::1" not in raised.value.message
