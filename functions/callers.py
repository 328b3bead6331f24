"""Who may call the function: the holder of a subscription's capability token.

Any pod that knows a subscription id (it is in the Trigger's name) could otherwise POST an
event of its own making and have it signed with that tenant's secret and sent to its sink.
Each rendered Trigger's URIs carry a token (:func:`blazar_events.triggers.to_token`, an HMAC
under the operator's key, one per route and subscription); the chart gives the operator and
the function the same key from one Secret. Knative's dispatcher calls the URI as written,
query included, so the token reaches us on every delivery and dead letter.
"""

from __future__ import annotations

from blazar_events.errors import NotAuthorized, PolicyNotAuthorized
from blazar_events.triggers import TOKEN_PARAMETER, is_valid_token

MIN_KEY_BYTES = 32


def check_caller(key: bytes, subscription_id: str, route: str, token: str | None) -> None:
    """Raise NotAuthorized (401) without a token, PolicyNotAuthorized (403) with a wrong one."""
    if not token:
        raise NotAuthorized(
            f"a '{TOKEN_PARAMETER}' query parameter is required: call the URI of the "
            "subscription's Trigger"
        )
    if not is_valid_token(key, subscription_id, route, token):
        raise PolicyNotAuthorized(f"the token is not valid for this subscription's {route} route")


def to_key(value: str) -> bytes:
    """The operator's token key as bytes; refuse one too short to resist guessing."""
    key = value.encode()
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the function token key must be at least {MIN_KEY_BYTES} bytes")
    return key
