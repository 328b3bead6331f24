"""What went wrong on the network, in words a tenant may read (the delivery log is theirs).

A network error says which kind of failure it was (refused, reset, timed out, TLS, DNS,
protocol) and never the address or port it happened at: the address a name resolved to
inside the cloud, or which ports of an allowed network answer, are not the tenant's to
learn. The exceptions' own texts (``Connect call failed ('10.0.0.5', 8080)``) are not used.
"""

from __future__ import annotations

import errno
import socket
import ssl

from delivery.http1 import Deadline
from delivery.outcomes import Retry
from delivery.resolver import NoAddress
from delivery.transport import ProtocolError

_BY_ERRNO = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset by the sink",
    errno.ECONNABORTED: "connection aborted",
    errno.EPIPE: "connection closed by the sink while sending",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.ETIMEDOUT: "connection timed out",
    errno.EADDRNOTAVAIL: "address not available",
}


def to_retry(exc: BaseException, timeout: float) -> Retry:
    """A retryable outcome for an exception raised by the network, TLS or the sink's bytes."""
    silent = isinstance(exc, Deadline) and exc.stage != "wait"  # not our own caps' wait
    return Retry(_describe(exc, timeout), timed_out=silent or type(exc) is TimeoutError)


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, Deadline):
        if exc.stage == "wait":
            return f"no connection to the sink free within {timeout:g} s (connection caps)"
        if exc.stage == "connect":
            return f"could not connect within {timeout:g} s (timed out)"
        return f"no answer within {timeout:g} s"
    if isinstance(exc, ProtocolError):
        return f"protocol error: {exc}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS error: certificate not accepted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or 'handshake failed'}"
    if isinstance(exc, NoAddress | socket.gaierror):
        return "DNS error: the sink's host name does not resolve"
    if isinstance(exc, ConnectionResetError) and exc.errno is None:
        return f"network error: {exc}"  # our own words (transport.Connection)
    if isinstance(exc, OSError) and exc.errno in _BY_ERRNO:
        return f"network error: {_BY_ERRNO[exc.errno]}"
    if isinstance(exc, TimeoutError):
        return f"could not connect within {timeout:g} s (timed out)"
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"network error: {errno.errorcode.get(exc.errno, 'unknown')}"
    return f"network error: {type(exc).__name__}"
