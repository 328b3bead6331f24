"""Signatures are checked with the standardwebhooks reference library, as a subscriber would."""

from __future__ import annotations

import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from blazar_events.errors import ConfigurationError
from delivery import signing
from tests.delivery.conftest import to_secret

BODY = b'{"lease_id": "6a1b", "status": "ACTIVE"}'


def test_a_subscriber_verifies_the_signature_with_a_standard_webhooks_library() -> None:
    secret = to_secret()
    headers = signing.to_headers([secret], "msg-1", int(time.time()), BODY)

    assert Webhook(secret).verify(BODY, headers) == {"lease_id": "6a1b", "status": "ACTIVE"}
    assert headers["webhook-id"] == "msg-1"
    assert headers["webhook-signature"].startswith("v1,")


def test_during_rotation_either_secret_verifies() -> None:
    old, new = to_secret(), to_secret()
    headers = signing.to_headers([new, old], "msg-2", int(time.time()), BODY)

    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(BODY, headers)
    Webhook(new).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(to_secret()).verify(BODY, headers)


def test_a_changed_body_or_id_does_not_verify() -> None:
    secret = to_secret()
    headers = signing.to_headers([secret], "msg-3", int(time.time()), BODY)

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"ACTIVE", b"ERROR"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": "msg-4"})


@pytest.mark.parametrize("size", [0, 1, 2046, 2047, 2048, 4094, 4095, 100_000])
def test_bodies_signed_in_pieces_verify_whatever_their_size(size: int) -> None:
    # Signing feeds the HMAC under 2 KiB at a time (to keep the GIL): the piece edges must
    # not show in the signature.
    secret = to_secret()
    body = b'{"pad": "' + b"x" * size + b'"}'
    headers = signing.to_headers([secret], "msg-big", int(time.time()), body)

    assert Webhook(secret).verify(body, headers) == {"pad": "x" * size}


def test_no_active_secret_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="no active signing secret"):
        signing.to_headers([], "msg-5", 0, BODY)


def test_a_secret_without_a_key_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="empty"):
        signing.to_signature("whsec_", "msg-6", 0, BODY)
