"""transport_url as blazar.conf holds it, split into kombu URLs by oslo.messaging's rules."""

from __future__ import annotations

from urllib.parse import quote

import kombu
import oslo_messaging
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oslo_config import cfg

from bridge.transport import kombu_urls

KOLLA = "rabbit://openstack:s3cr%40t@10.0.0.11:5672,openstack:s3cr%40t@10.0.0.12:5672,openstack:s3cr%40t@10.0.0.13:5672//"


def parts(url: str) -> tuple[str, int, str, str, str]:
    """What kombu connects to for one URL."""
    connection = kombu.Connection(url)
    return (
        connection.hostname,
        connection.port,
        connection.userid,
        connection.password,
        connection.virtual_host,
    )


def oslo_parts(transport_url: str) -> list[tuple[str, int, str, str, str]]:
    """The same, as oslo.messaging's TransportURL reads the URL (and its driver's defaults)."""
    url = oslo_messaging.TransportURL.parse(cfg.ConfigOpts(), transport_url)
    vhost = url.virtual_host or "/"
    return [
        (host.hostname, host.port or 5672, host.username, host.password, vhost)
        for host in url.hosts
    ]


def test_a_kolla_three_node_cluster_gives_three_hosts_in_order() -> None:
    urls = kombu_urls(KOLLA)
    assert [parts(url) for url in urls] == [
        (f"10.0.0.{n}", 5672, "openstack", "s3cr@t", "/") for n in (11, 12, 13)
    ]
    assert [parts(url) for url in urls] == oslo_parts(KOLLA)


@pytest.mark.parametrize(
    "transport_url",
    [
        "rabbit://guest:guest@127.0.0.1:5673/",
        "rabbit://u:p@h1,u:p@h2:5673/blazar",
        "rabbit://u%3Ax:p%2F%3F%23@[::1]:5672,u2:p2@[fd00::2]/v%2Fhost",
        "amqp://a:b@rabbit-0.rabbit.svc:5672,c:d@rabbit-1.rabbit.svc:5672/openstack",
    ],
)
def test_each_host_is_the_one_oslo_messaging_would_use(transport_url: str) -> None:
    assert [parts(url) for url in kombu_urls(transport_url)] == oslo_parts(transport_url)


NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,12}(\.[a-z][a-z0-9-]{0,8}){0,2}", fullmatch=True)
SECRETS = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1)


@settings(max_examples=60, deadline=None)
@given(
    hosts=st.lists(
        st.tuples(NAMES, st.none() | st.integers(1, 65535), SECRETS, SECRETS),
        min_size=1,
        max_size=4,
    ),
    vhost=st.sampled_from(["", "/", "blazar", "a/b"]),
)
def test_any_credentials_and_hosts_read_as_oslo_reads_them(
    hosts: list[tuple[str, int | None, str, str]], vhost: str
) -> None:
    netloc = ",".join(
        f"{quote(user, safe='')}:{quote(password, safe='')}@{name}" + (f":{port}" if port else "")
        for name, port, user, password in hosts
    )
    transport_url = f"rabbit://{netloc}/{quote(vhost, safe='')}"
    assert [parts(url) for url in kombu_urls(transport_url)] == oslo_parts(transport_url)
