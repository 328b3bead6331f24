"""The delivery side of a subscription: its attempt log, replays and test events.

The broker does the work; these routes validate, check access and leave a request on the
store's ``replays`` stream for it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, jsonify
from pydantic import ValidationError

from api.access import services, visible
from api.requests import int_param, json_body, only_params
from api.schemas import DeliveryList, ReplayAccepted, ReplayInput, SyntheticEventAccepted
from blazar_events.errors import InvalidInput
from blazar_events.eventtypes import TEST_TYPE
from blazar_events.subscription import to_invalid_input

bp = Blueprint("deliveries", __name__, url_prefix="/v1/subscriptions")


@bp.get("/<sub_id>/deliveries")
def index(sub_id: str) -> Response:
    only_params("limit")
    visible(sub_id, "list_deliveries")
    # The log keeps the newest delivery_log_size attempts: asking for more gets them all.
    limit = min(int_param("limit", 50, 1, 10**18 - 1), services().store.delivery_log_size)
    attempts = services().store.deliveries(sub_id, limit)
    return jsonify(DeliveryList(deliveries=attempts).model_dump(mode="json"))


@bp.post("/<sub_id>/replay")
def replay(sub_id: str) -> Response:
    visible(sub_id, "replay")
    try:
        spec = ReplayInput.model_validate(json_body())
    except ValidationError as exc:
        raise to_invalid_input(exc) from None
    now = datetime.now(UTC)
    if spec.since > now:
        raise InvalidInput("since: is in the future")
    if spec.until is not None and spec.until <= spec.since:
        raise InvalidInput("until: must be after since")
    since = spec.since.astimezone(UTC)
    until = spec.until.astimezone(UTC) if spec.until else None
    replay_id = services().store.request_replay(sub_id, since, until)
    accepted = ReplayAccepted(replay_id=replay_id, subscription_id=sub_id, since=since, until=until)
    response = jsonify(accepted.model_dump(mode="json"))
    response.status_code = 202
    return response


@bp.post("/<sub_id>/test")
def test_event(sub_id: str) -> Response:
    visible(sub_id, "test")
    request_id = services().store.request_test(sub_id)
    accepted = SyntheticEventAccepted(request_id=request_id, subscription_id=sub_id, type=TEST_TYPE)
    response = jsonify(accepted.model_dump(mode="json"))
    response.status_code = 202
    return response
