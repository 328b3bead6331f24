"""``/v1/leases/{lease_id}/subscriptions``: the original proposal's form.

``{"subscriptions": [{"notify_endpoint": {"ip_address": "10.0.0.1", "port": 8217}}]}`` creates
one subscription per entry, each filtered to the lease of the path. Every entry is validated
before any is stored, so a bad second entry does not leave the first one behind.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, url_for
from pydantic import ValidationError

from api.access import authorize, caller, services
from api.requests import json_body, only_params
from api.schemas import LeaseSubscriptionsInput
from api.subscriptions import LIST_PARAMS, RULE, list_page, request_initial_state
from api.views import check_all_sinks, check_dedicated, quota, settle_project, to_view
from blazar_events.errors import InvalidInput
from blazar_events.subscription import SigningKeys, Subscription, to_invalid_input

bp = Blueprint("leases", __name__, url_prefix="/v1/leases")


@bp.post("/<lease_id>/subscriptions")
def create(lease_id: str) -> Response:
    body = json_body()
    if isinstance(body, dict) and isinstance(body.get("subscriptions"), list):
        for n, entry in enumerate(body["subscriptions"]):
            if isinstance(entry, dict):
                if entry.get("lease_id") not in (None, lease_id):
                    raise InvalidInput(f"subscriptions.{n}.lease_id: differs from the path")
                entry["lease_id"] = lease_id
    try:
        specs = LeaseSubscriptionsInput.model_validate(body).subscriptions
    except ValidationError as exc:
        raise to_invalid_input(exc) from None
    planned = []
    for spec in specs:
        project_id = settle_project(spec)
        authorize(RULE + "create", project_id)
        check_dedicated(spec, project_id, None)
        sub = Subscription.from_input(spec, project_id=project_id, user_id=caller().user_id)
        planned.append((sub, SigningKeys.generate()))
    all_warnings = check_all_sinks(specs, "subscriptions.{n}.")
    # All or none, the quota counted over all of them, in one atomic step.
    services().store.create_many(planned, quota())
    for (sub, _), spec, warnings in zip(planned, specs, all_warnings, strict=True):
        if spec.initial_state:
            warnings.extend(request_initial_state(sub))
    created = [
        to_view(sub, warnings=spec.warnings() + warnings, secret=keys.current)
        for (sub, keys), spec, warnings in zip(planned, specs, all_warnings, strict=True)
    ]
    response = jsonify({"subscriptions": created})
    response.status_code = 201
    response.headers["Location"] = url_for(".index", lease_id=lease_id, _external=True)
    return response


@bp.get("/<lease_id>/subscriptions")
def index(lease_id: str) -> Response:
    only_params(*(p for p in LIST_PARAMS if p != "lease_id"))
    return list_page(lease_id=lease_id)
