"""Who may call the function (functions/callers.py): only the holder of the token rendered
into that subscription's Trigger, for that route."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blazar_events.errors import NotAuthorized, PolicyNotAuthorized
from blazar_events.triggers import DEAD_LETTER_ROUTE, DELIVER_ROUTE, to_token
from functions.callers import MIN_KEY_BYTES, check_caller, to_key

KEY = b"the operator's token key, 32 bytes or more"


def test_the_token_of_the_subscriptions_route_lets_the_call_in() -> None:
    check_caller(KEY, "sub-1", DELIVER_ROUTE, to_token(KEY, "sub-1", DELIVER_ROUTE))


def test_no_token_is_a_401_that_says_which_uri_to_call() -> None:
    with pytest.raises(NotAuthorized, match="Trigger"):
        check_caller(KEY, "sub-1", DELIVER_ROUTE, None)


@pytest.mark.parametrize(
    ("sub_id", "route", "key"),
    [
        ("sub-2", DELIVER_ROUTE, KEY),  # another subscription's token
        ("sub-1", DEAD_LETTER_ROUTE, KEY),  # the other route's token
        ("sub-1", DELIVER_ROUTE, b"another operator's key of 32 bytes!!"),  # another key
    ],
)
def test_a_token_for_anything_else_is_a_403(sub_id: str, route: str, key: bytes) -> None:
    token = to_token(key, sub_id, route)
    with pytest.raises(PolicyNotAuthorized):
        check_caller(KEY, "sub-1", DELIVER_ROUTE, token)


@given(token=st.text(min_size=1, max_size=200))
def test_no_made_up_token_is_accepted(token: str) -> None:
    with pytest.raises(PolicyNotAuthorized):
        check_caller(KEY, "sub-1", DELIVER_ROUTE, token)


def test_a_key_too_short_to_resist_guessing_is_refused() -> None:
    assert to_key("k" * MIN_KEY_BYTES) == b"k" * MIN_KEY_BYTES
    with pytest.raises(ValueError, match=f"at least {MIN_KEY_BYTES} bytes"):
        to_key("k" * (MIN_KEY_BYTES - 1))
