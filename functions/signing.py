"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

``webhook-signature`` is ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`` keyed with
the base64-decoded part of a ``whsec_...`` secret. While a secret is being rotated the old and
the new one are both active, so the header carries one signature per secret, space-separated:
a subscriber that still holds either secret verifies the request.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Sequence
from functools import lru_cache

from blazar_events.errors import ConfigurationError

SECRET_PREFIX = "whsec_"


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


def to_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature."""
    signed = b"%s.%d.%s" % (msg_id.encode(), timestamp, body)
    digest = hmac.digest(from_secret(secret), signed, "sha256")
    return "v1," + base64.b64encode(digest).decode("ascii")


def to_headers(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers, one signature per active secret."""
    if not secrets:
        raise ConfigurationError(f"no active signing secret for message {msg_id}")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            to_signature(secret, msg_id, timestamp, body) for secret in secrets
        ),
    }
