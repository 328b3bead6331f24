"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

``webhook-signature`` is ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`` keyed with
the base64-decoded part of a ``whsec_...`` secret. While a secret is being rotated the old and
the new one are both active, so the header carries one signature per secret, space-separated:
a subscriber that still holds either secret verifies the request.

Signing never releases the GIL. ``hmac.digest`` (OpenSSL's one-shot HMAC) and ``update`` with
2 KiB or more drop it around the C call; the broker signs on its event loop while
kafka-python's threads are runnable, and getting the GIL back then waited for them to block
or for the 5 ms switch interval: 18 % of the live broker's samples were in ``hmac.digest``,
and with one busy thread beside it one signature took 5 ms instead of 5 us
(bench/delivery/RESULTS.md). A keyed HMAC object per secret, copied and fed in pieces under
2 KiB, keeps the GIL and also skips re-keying.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from functools import lru_cache

from blazar_events.errors import ConfigurationError

SECRET_PREFIX = "whsec_"
# CPython's hashlib releases the GIL for an update of 2048 bytes or more (HASHLIB_GIL_MINSIZE).
_PIECE = 2047


@lru_cache(maxsize=4096)
def from_secret(secret: str) -> bytes:
    """The HMAC key in a ``whsec_<base64>`` secret (cached: signing is hot)."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        # Some issuers drop the base64 padding; b64decode ignores padding that is too long.
        key = base64.b64decode(encoded + "==", validate=False)
    except (binascii.Error, ValueError):
        raise ConfigurationError("a signing secret is not whsec_<base64>") from None
    if not key:
        raise ConfigurationError("a signing secret is empty")
    return key


@lru_cache(maxsize=4096)
def _keyed(secret: str) -> hmac.HMAC:
    return hmac.new(from_secret(secret), digestmod=hashlib.sha256)


def to_digest(secret: str, message: bytes, prefix: bytes = b"") -> bytes:
    """HMAC-SHA256 of ``prefix + message`` under the secret's key, holding the GIL
    throughout (the prefix fed first: the body is not copied to sign it)."""
    mac = _keyed(secret).copy()
    if prefix:
        mac.update(prefix)
    view = memoryview(message)
    for start in range(0, len(view), _PIECE):
        mac.update(view[start : start + _PIECE])
    return mac.digest()


def to_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature."""
    return _sign(secret, b"%s.%d." % (msg_id.encode(), timestamp), body)


def _sign(secret: str, prefix: bytes, body: bytes) -> str:
    return "v1," + base64.b64encode(to_digest(secret, body, prefix)).decode("ascii")


def to_headers(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers, one signature per active secret."""
    if not secrets:
        raise ConfigurationError(f"no active signing secret for message {msg_id}")
    prefix = b"%s.%d." % (msg_id.encode(), timestamp)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(_sign(secret, prefix, body) for secret in secrets),
    }


def to_lines(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> bytes:
    """:func:`to_headers` as HTTP header lines (latin-1, CRLF between), built directly:
    this runs once per delivery."""
    if not secrets:
        raise ConfigurationError(f"no active signing secret for message {msg_id}")
    prefix = b"%s.%d." % (msg_id.encode(), timestamp)
    signatures = " ".join(_sign(secret, prefix, body) for secret in secrets)
    return (
        f"webhook-id: {msg_id}\r\nwebhook-timestamp: {timestamp}\r\nwebhook-signature: {signatures}"
    ).encode("latin-1")
