"""The small request bodies the API owns, and what its views may hold (pure pydantic)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from api.schemas import (
    LeaseSubscriptionsInput,
    ReplayInput,
    SecretRotationInput,
    SubscriptionPatch,
    SubscriptionView,
)


def test_a_replay_needs_times_with_an_offset() -> None:
    replay = ReplayInput.model_validate({"since": "2026-07-10T12:00:00Z"})
    assert replay.since == datetime(2026, 7, 10, 12, tzinfo=UTC) and replay.until is None
    with pytest.raises(ValidationError, match="since"):
        ReplayInput.model_validate({"since": "2026-07-10T12:00:00"})
    with pytest.raises(ValidationError, match="until"):
        ReplayInput.model_validate({"since": "2026-07-10T12:00:00Z", "until": "noon"})


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (ReplayInput, {"since": "2026-07-10T12:00:00Z", "from": "x"}),
        (SecretRotationInput, {"grace_period": "PT1H", "secret": "mine"}),
        (LeaseSubscriptionsInput, {"subscriptions": [{"sink": "https://h.example.org/"}], "x": 1}),
        (SubscriptionPatch, {"colour": "red"}),
    ],
)
def test_an_unknown_field_is_refused_by_name(model: type, body: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(body)
    (error,) = refused.value.errors()
    assert error["type"] == "extra_forbidden" and error["loc"][-1] in body


@pytest.mark.parametrize("count", [0, 33])
def test_the_lease_form_takes_one_to_32_subscriptions(count: int) -> None:
    entry = {"sink": "https://hooks.example.org/"}
    with pytest.raises(ValidationError, match="subscriptions"):
        LeaseSubscriptionsInput.model_validate({"subscriptions": [entry] * count})
    assert (
        len(LeaseSubscriptionsInput.model_validate({"subscriptions": [entry] * 32}).subscriptions)
        == 32
    )


def test_a_view_shows_a_secret_and_warnings_only_when_given() -> None:
    view = SubscriptionView(project_id="p-a", sink="https://hooks.example.org/")
    assert view.secret is None and view.warnings is None
    schema = SubscriptionView.model_json_schema()
    assert "secret" not in schema.get("required", []) and "warnings" in schema["properties"]
