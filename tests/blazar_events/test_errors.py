"""The one error hierarchy: what a caller catches and what an API client reads in the body."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blazar_events import errors
from blazar_events.errors import (
    BlazarEventsError,
    ConfigurationError,
    InvalidFilter,
    InvalidInput,
    NotificationRejected,
    SinkRefused,
    TooManyRequests,
    to_error_body,
)

# What Blazar's own API answers with; clients (python-blazarclient, ours) branch on these.
STATUSES = {
    "InvalidInput": 400,
    "InvalidFilter": 400,
    "SinkRefused": 400,
    "NotAuthorized": 401,
    "PolicyNotAuthorized": 403,
    "NotFound": 404,
    "MethodNotAllowed": 405,
    "NotAcceptable": 406,
    "Conflict": 409,
    "PreconditionFailed": 412,
    "PayloadTooLarge": 413,
    "UnsupportedMediaType": 415,
    "NotificationRejected": 422,
    "TooManyRequests": 429,
    "ServiceUnavailable": 503,
}


def every_error() -> list[type[BlazarEventsError]]:
    found = [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, BlazarEventsError)
    ]
    return sorted(found, key=lambda cls: cls.__name__)


def make(cls: type[BlazarEventsError], message: str) -> BlazarEventsError:
    if cls is TooManyRequests:
        return TooManyRequests(message, retry_after=3)
    if cls is NotificationRejected:
        return NotificationRejected("bad-json", message)
    return cls(message)


def test_each_error_answers_with_its_status_and_a_name_of_its_own() -> None:
    names = {cls.__name__: (cls.name, cls.code) for cls in every_error()}
    assert all(
        cls_name == name for cls_name, (name, _) in names.items() if cls_name != "BlazarEventsError"
    )
    assert {name: code for name, (_, code) in names.items() if code != 500} == STATUSES
    assert len({name for name, _ in names.values()}) == len(names)


@given(st.sampled_from(every_error()), st.text(max_size=200))
def test_the_body_is_blazars_shape_with_the_message_as_given(
    cls: type[BlazarEventsError], message: str
) -> None:
    error = make(cls, message)
    body = {"error_code": cls.code, "error_name": cls.name, "error_message": message}
    assert error.to_body() == body == to_error_body(cls.code, cls.name, message)
    assert (str(error), error.message) == (message, message)


def test_retry_after_and_the_rejection_reason_travel_with_the_error() -> None:
    limited = TooManyRequests("one replay per 10 s", retry_after=7)
    assert (limited.retry_after, limited.details) == (7, {"retry_after": 7})
    rejected = NotificationRejected("not-blazar", "publisher compute.host1 is not Blazar's")
    assert (rejected.reason, rejected.message) == ("not-blazar", rejected.args[0])


@pytest.mark.parametrize(
    "cls", [InvalidInput, InvalidFilter, SinkRefused, NotificationRejected, ConfigurationError]
)
def test_bad_values_are_also_value_errors(cls: type[BlazarEventsError]) -> None:
    assert isinstance(make(cls, "x"), ValueError)
