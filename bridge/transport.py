"""oslo.messaging's ``transport_url`` as kombu URLs, one per RabbitMQ host.

blazar.conf holds ``rabbit://user:pass@h1:5672,user:pass@h2:5672/vhost``; kolla-ansible
lists every node of its RabbitMQ cluster there. oslo.messaging's rabbit driver turns each
host into an ``amqp://`` URL and hands the list to kombu, which fails over between them.
This does the same split, by oslo's rules (hosts separated by commas, each with its own
credentials, ``user:pass`` percent-encoded, port 5672 unless given, IPv6 in brackets, one
virtual host for all), without importing oslo.messaging: that costs the bridge more than a
second at start and brings eventlet with it. tests/bridge/test_transport.py holds this to
oslo's own ``TransportURL.parse``. Query options (``?ssl=1``) are not supported here.
"""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit

DEFAULT_PORT = 5672


def kombu_urls(transport_url: str) -> list[str]:
    """One kombu URL per host of ``transport_url``, in the order listed."""
    parts = urlsplit(transport_url)
    scheme = parts.scheme.removeprefix("kombu+")
    scheme = "amqp" if scheme in {"rabbit", "amqp", "pyamqp", ""} else scheme
    vhost = quote(unquote(parts.path[1:]), safe="") if parts.path.startswith("/") else ""
    urls = [f"{scheme}://{_host_url(entry)}/{vhost}" for entry in parts.netloc.split(",") if entry]
    # No host at all: oslo's driver falls back to guest on localhost too.
    return urls or [f"{scheme}://guest:guest@localhost:{DEFAULT_PORT}/{vhost}"]


def _host_url(entry: str) -> str:
    """``user:pass@host:port`` of one host, re-encoded for kombu, port made explicit."""
    credentials = ""
    if "@" in entry:
        userinfo, entry = entry.rsplit("@", 1)
        user, _, password = userinfo.partition(":")
        credentials = f"{quote(unquote(user), safe='')}:{quote(unquote(password), safe='')}@"
    place = urlsplit("//" + entry)
    hostname = place.hostname or "localhost"
    if ":" in hostname:
        hostname = f"[{hostname}]"
    return f"{credentials}{hostname}:{place.port or DEFAULT_PORT}"


def to_kombu_url(transport_url: str) -> str:
    """The kombu URL of the first host (tools that need one connection, tests)."""
    return kombu_urls(transport_url)[0]
