"""The checked resolver: every address a sink's name resolves to passes the egress policy
before a connection may use it, and a refusal names the rule, never the address."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blazar_events import egress
from blazar_events.errors import SinkRefused
from delivery.resolver import NoAddress, Resolver, check_sink, system_resolve, to_check

TENANTS = egress.parse_networks(["10.0.0.0/8"])
DOCUMENTATION = "203.0.113.7"  # TEST-NET-3: the policy refuses it as reserved
TENANT = "10.1.2.3"


@given(st.ip_addresses())
def test_every_address_passes_or_is_refused_by_its_rule_never_by_its_text(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    check = to_check(TENANTS)
    rule = egress.refusal(address, TENANTS)
    if rule is None:
        check(str(address))
        return
    with pytest.raises(SinkRefused) as refused:
        check(str(address))
    assert f"rule={rule}" in refused.value.message
    assert str(address) not in refused.value.message


def test_a_scoped_ipv6_address_is_judged_without_its_zone() -> None:
    with pytest.raises(SinkRefused, match="rule=link-local"):
        to_check(())("fe80::1%eth0")


class Answers:
    """DNS that answers what the test says, counting the questions."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = list(addresses)
        self.asked = 0

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked += 1
        return self.addresses


def addresses_of(resolver: Resolver, host: str = "hooks.example.org") -> list[str]:
    return asyncio.run(resolver.addresses(host, 443))


def test_one_refused_address_among_good_ones_refuses_the_name() -> None:
    # DNS rebinding: a name that answers a tenant address and the metadata service at once.
    answers = Answers(TENANT, "169.254.169.254")
    with pytest.raises(SinkRefused, match="rule=metadata"):
        addresses_of(Resolver(to_check(TENANTS), answers, ttl=60))


def test_addresses_that_all_pass_are_handed_out() -> None:
    answers = Answers(TENANT, "10.9.9.9")
    assert addresses_of(Resolver(to_check(TENANTS), answers, ttl=60)) == [TENANT, "10.9.9.9"]


def test_a_name_without_addresses_is_no_address() -> None:
    with pytest.raises(NoAddress):
        addresses_of(Resolver(to_check(TENANTS), Answers(), ttl=60))


def test_a_checked_answer_is_reused_within_its_ttl_and_never_without_one() -> None:
    answers = Answers(TENANT)
    cached = Resolver(to_check(TENANTS), answers, ttl=3600)
    for _ in range(3):
        addresses_of(cached)
    assert answers.asked == 1
    uncached = Resolver(to_check(TENANTS), answers, ttl=0)
    for _ in range(3):
        addresses_of(uncached)
    assert answers.asked == 4


def test_a_refused_answer_is_never_cached() -> None:
    answers = Answers("127.0.0.1")
    resolver = Resolver(to_check(TENANTS), answers, ttl=3600)
    for _ in range(2):
        with pytest.raises(SinkRefused):
            addresses_of(resolver)
    assert answers.asked == 2


def test_the_systems_resolver_finds_localhost_and_the_policy_refuses_it() -> None:
    found = asyncio.run(system_resolve("localhost", 80))
    assert found and all(ipaddress.ip_address(a).is_loopback for a in found)
    with pytest.raises(SinkRefused, match="rule=loopback"):
        addresses_of(Resolver(to_check(TENANTS), None, ttl=0), "localhost")


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("ftp://hooks.example.org/", "scheme"),
        ("https://user:pw@hooks.example.org/", "userinfo"),
        ("http://127.0.0.1:8080/", "loopback"),
        ("http://[::ffff:169.254.169.254]/", "metadata"),
        (f"http://{DOCUMENTATION}/", "reserved"),
    ],
)
def test_the_url_rules_and_a_literal_address_are_checked_before_any_lookup(
    url: str, rule: str
) -> None:
    with pytest.raises(SinkRefused, match=f"rule={rule}"):
        check_sink(url, to_check(TENANTS))


def test_a_name_or_an_allowed_literal_passes_the_url_check() -> None:
    check_sink("https://hooks.example.org/blazar", to_check(TENANTS))
    check_sink(f"http://{TENANT}:8217/", to_check(TENANTS))
