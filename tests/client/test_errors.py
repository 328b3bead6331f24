"""The client's errors (pure): what a caller catches, and what an OSC user reads."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blazar_events_client.errors import (
    ClientError,
    Conflict,
    HttpError,
    InvalidArgument,
    NotFound,
    PreconditionFailed,
    TooManyRequests,
    from_response,
)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (404, NotFound),
        (409, Conflict),
        (412, PreconditionFailed),
        (429, TooManyRequests),
        (400, HttpError),
        (503, HttpError),
    ],
)
def test_the_status_picks_the_class_and_blazars_body_is_kept(status: int, cls: type) -> None:
    body = {"error_code": status, "error_name": "Named", "error_message": "why"}
    error = from_response(status, body, {"X-Openstack-Request-Id": "req-1"})
    assert type(error) is cls and isinstance(error, ClientError)
    assert (error.status_code, error.error_code, error.error_name) == (status, status, "Named")
    assert (error.error_message, error.body, error.request_id) == ("why", body, "req-1")
    assert str(error) == f"Named: why (HTTP {status}) (Request-ID: req-1)"


def test_retry_after_is_read_and_shown() -> None:
    error = from_response(429, {"error_name": "TooManyRequests", "error_message": "slow down"},
                          {"Retry-After": "7"})  # fmt: skip
    assert error.retry_after == "7"
    assert str(error) == "TooManyRequests: slow down (HTTP 429) (retry after 7 s)"


def test_a_proxys_page_is_cut_and_still_an_error() -> None:
    error = from_response(502, "  <html>" + "x" * 2000 + "</html>")
    assert (error.error_name, len(error.error_message)) == ("HTTP502", 500)
    assert error.error_message.startswith("<html>")


@given(st.integers(400, 599), st.one_of(st.none(), st.integers(), st.lists(st.text()),
       st.dictionaries(st.text(max_size=20), st.one_of(st.none(), st.text(), st.integers()))),
       st.dictionaries(st.text(max_size=20), st.text(max_size=20)))  # fmt: skip
def test_any_answer_becomes_an_http_error(status: int, body: Any, headers: dict[str, str]) -> None:
    error = from_response(status, body, headers)
    assert isinstance(error, HttpError) and error.status_code == status
    assert f"(HTTP {status})" in str(error)


def test_a_refused_argument_is_also_a_value_error() -> None:
    assert isinstance(InvalidArgument("empty ID"), ValueError)
