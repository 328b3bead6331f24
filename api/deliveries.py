"""The delivery side of a subscription: its attempt log, replays and test events.

The broker does the work; these routes validate, check access and leave a request on the
store's ``replays`` stream for it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, jsonify
from pydantic import ValidationError

from api.access import services, visible
from api.requests import int_param, json_body, only_params
from api.schemas import (
    DeliveryList,
    ReplayAccepted,
    ReplayInput,
    SnapshotAccepted,
    SyntheticEventAccepted,
)
from api.throttle import admit, admit_project
from blazar_events.errors import InvalidInput
from blazar_events.eventtypes import SNAPSHOT_TYPE, TEST_TYPE
from blazar_events.subscription import Subscription, to_invalid_input

bp = Blueprint("deliveries", __name__, url_prefix="/v1/subscriptions")


@bp.get("/<sub_id>/deliveries")
def index(sub_id: str) -> Response:
    only_params("limit")
    visible(sub_id, "list_deliveries")
    # The log keeps the newest delivery_log_size attempts: asking for more gets them all.
    limit = min(int_param("limit", 50, 1, 10**18 - 1), services().store.delivery_log_size)
    attempts = services().store.deliveries(sub_id, limit)
    return jsonify(DeliveryList(deliveries=attempts).model_dump(mode="json"))


# Clocks of clients and servers differ a little; more than this ahead is a mistake.
CLOCK_SKEW = timedelta(minutes=1)


def check_window(spec: ReplayInput, max_age_hours: float) -> None:
    """400 naming the field for a window the broker could not honour: before what Kafka
    still keeps, in the future, or ending before it starts."""
    now = datetime.now(UTC)
    # Capped at a century: timedelta(hours=...) overflows on an absurd setting.
    oldest = now - timedelta(hours=min(max_age_hours, 24 * 365 * 100))
    if spec.since < oldest:
        raise InvalidInput(
            f"since: more than {max_age_hours:g} hours ago, beyond what the event log keeps "
            f"([api] replay_max_age_hours)"
        )
    for field, value in (("since", spec.since), ("until", spec.until)):
        if value is not None and value > now + CLOCK_SKEW:
            raise InvalidInput(f"{field}: is in the future")
    if spec.until is not None and spec.until <= spec.since:
        raise InvalidInput("until: must be after since")


def throttle(route: str, sub: Subscription) -> None:
    """429 past the subscription's and then the project's rate of broker requests."""
    settings = services().settings
    admit(services().store, route, sub.id, settings.request_interval_seconds)
    admit_project(
        services().store,
        sub.project_id,
        settings.project_requests_per_interval,
        settings.request_interval_seconds,
    )


@bp.post("/<sub_id>/replay")
def replay(sub_id: str) -> Response:
    sub = visible(sub_id, "replay")
    try:
        spec = ReplayInput.model_validate(json_body())
    except ValidationError as exc:
        raise to_invalid_input(exc) from None
    check_window(spec, services().settings.replay_max_age_hours)
    throttle("replay", sub)
    since = spec.since.astimezone(UTC)
    until = spec.until.astimezone(UTC) if spec.until else None
    replay_id = services().store.request_replay(sub_id, since, until)
    accepted = ReplayAccepted(replay_id=replay_id, subscription_id=sub_id, since=since, until=until)
    response = jsonify(accepted.model_dump(mode="json"))
    response.status_code = 202
    return response


@bp.post("/<sub_id>/test")
def test_event(sub_id: str) -> Response:
    throttle("test", visible(sub_id, "test"))
    request_id = services().store.request_test(sub_id)
    accepted = SyntheticEventAccepted(request_id=request_id, subscription_id=sub_id, type=TEST_TYPE)
    response = jsonify(accepted.model_dump(mode="json"))
    response.status_code = 202
    return response


@bp.post("/<sub_id>/snapshot")
def snapshot(sub_id: str) -> Response:
    """202: one ``lease.snapshot`` event per live lease will follow (docs/api.md)."""
    only_params()
    sub = visible(sub_id, "snapshot")
    if json_body(optional=True) not in (None, {}):
        raise InvalidInput("body: must be empty or {} (a snapshot takes no options)")
    throttle("snapshot", sub)
    request_id = services().store.request_snapshot(sub_id)
    accepted = SnapshotAccepted(request_id=request_id, subscription_id=sub_id, type=SNAPSHOT_TYPE)
    response = jsonify(accepted.model_dump(mode="json"))
    response.status_code = 202
    return response
