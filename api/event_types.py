"""``/v1/event-types``: what a subscriber can receive, with the JSON schema of each payload."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from api.access import authorize, caller
from api.requests import only_params
from api.schemas import EventTypeList
from blazar_events import eventtypes

bp = Blueprint("event_types", __name__, url_prefix="/v1/event-types")


@bp.get("")
def index() -> Response:
    only_params()
    authorize("blazar-events:event_type:list", str(caller().project_id))
    catalog = EventTypeList.model_validate({"event_types": eventtypes.catalog()})
    return jsonify(catalog.model_dump(mode="json"))
