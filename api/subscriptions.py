"""``/v1/subscriptions``: create, list, show, replace, patch, delete, rotate, Trigger."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import yaml
from flask import Blueprint, Response, jsonify, request, url_for
from pydantic import TypeAdapter, ValidationError

from api.access import authorize, caller, services, visible
from api.deliveries import throttle
from api.requests import (
    MERGE_PATCH_TYPES,
    bool_param,
    expected_version,
    int_param,
    json_body,
    only_params,
)
from api.schemas import SecretRotation, SecretRotationInput
from api.views import (
    check_dedicated,
    check_sinks,
    quota,
    refuse_if_kubernetes,
    settle_project,
    to_response,
)
from blazar_events import eventtypes, triggers
from blazar_events.delivery_spec import JsonInt
from blazar_events.errors import (
    BlazarEventsError,
    Conflict,
    InvalidInput,
    NotAcceptable,
    PreconditionFailed,
)
from blazar_events.subscription import (
    SigningKeys,
    Subscription,
    from_input,
    from_iso_duration,
    to_invalid_input,
)

bp = Blueprint("subscriptions", __name__, url_prefix="/v1/subscriptions")

RULE = "blazar-events:subscription:"
LIST_PARAMS = ("limit", "marker", "lease_id", "type", "project_id", "all_projects")


@bp.post("")
def create() -> Response:
    spec = from_input(json_body())
    project_id = settle_project(spec)
    authorize(RULE + "create", project_id)
    check_dedicated(spec, project_id, None)
    warnings = spec.warnings() + check_sinks(spec)
    sub = Subscription.from_input(spec, project_id=project_id, user_id=caller().user_id)
    keys = SigningKeys.generate()
    services().store.create(sub, keys, quota())
    if spec.initial_state:
        warnings += request_initial_state(sub)
    response = to_response(sub, 201, warnings=warnings, secret=keys.current)
    response.headers["Location"] = url_for(".show", sub_id=sub.id, _external=True)
    return response


def request_initial_state(sub: Subscription) -> list[str]:
    """Queue the snapshot ``initial_state`` asks for, within the same limits as
    ``POST .../snapshot``; the subscription exists either way, so a refusal is a warning."""
    try:
        throttle("snapshot", sub)
        services().store.request_snapshot(sub.id)
    except BlazarEventsError as exc:
        return [f"initial_state: not sent ({exc.message}); ask POST .../snapshot later"]
    return []


def list_page(lease_id: str | None = None) -> Response:
    """One page of the caller's subscriptions (or every project's, for an admin who asks)."""
    limit = int_param("limit", 50, 1, services().settings.list_limit_max)
    marker = request.args.get("marker") or None
    event_type = request.args.get("type") or None  # empty means absent, as for the others
    if event_type is not None:
        event_type = eventtypes.normalize_type(event_type)
    own = str(caller().project_id)
    requested = request.args.get("project_id") or None
    all_projects = bool_param("all_projects")
    if all_projects or (requested is not None and requested != own):
        authorize(RULE + "list_all_projects", requested or "*")
    project_id = requested or (None if all_projects else own)
    authorize(RULE + "list", project_id or own)
    docs = services().store.list_json(
        project_id=project_id,
        lease_id=lease_id or request.args.get("lease_id") or None,
        type=event_type,
        limit=limit,
        marker=marker,
    )
    links = []
    if len(docs) == limit:
        args = {k: v for k, v in request.args.items() if k != "marker"}
        args["marker"] = json.loads(docs[-1])["id"]
        links.append({"rel": "next", "href": f"{request.base_url}?{urlencode(args)}"})
    # The stored documents are already the JSON of a subscription (no secret in them): pass
    # them through rather than parse and re-serialize 50 of them per page.
    body = f'{{"subscriptions":[{",".join(docs)}],"subscriptions_links":{json.dumps(links)}}}'
    return Response(body, mimetype="application/json")


@bp.get("")
def index() -> Response:
    only_params(*LIST_PARAMS)
    return list_page()


@bp.get("/<sub_id>")
def show(sub_id: str) -> Response:
    return to_response(visible(sub_id, "get"))


# A PUT or PATCH without If-Match is computed again on the fresh record this many times
# when another write lands between its read and its write, then answered 409.
WRITE_ATTEMPTS = 5
Compute = Callable[[Subscription], tuple[Any, int | None]]


def _write(sub_id: str, action: str, compute: Compute) -> Response:
    """Read, compute the new record from what was read, write it only if the record is still
    at the version read. The write never lands on a record it was not computed from: a
    concurrent change (a 410 disabling the subscription) is kept, and the request computed
    again on top of it, unless the client named a version (If-Match), which then decides."""
    for _ in range(WRITE_ATTEMPTS):
        current = visible(sub_id, action)
        refuse_if_kubernetes(current)
        body, version_hint = compute(current)
        spec = from_input(body)
        expected = expected_version(spec.version if spec.version is not None else version_hint)
        if expected is not None and expected != current.version:
            raise PreconditionFailed(
                f"subscription {sub_id} is at version {current.version}, not {expected}; "
                "fetch it again"
            )
        project_id = settle_project(spec, current.project_id)
        authorize(RULE + "update", project_id)
        check_dedicated(spec, project_id, current)
        warnings = spec.warnings() + check_sinks(spec)
        new = current.replaced_by(spec, project_id=project_id)
        try:
            stored = services().store.update(new, expected_version=current.version, quota=quota())
        except PreconditionFailed:
            if expected is not None:
                raise
            continue
        return to_response(stored, warnings=warnings)
    raise Conflict(f"subscription {sub_id} changed concurrently too often; retry")


_VERSION: TypeAdapter[int] = TypeAdapter(JsonInt)
READ_ONLY = ("id", "user_id", "status_reason", "created_at", "updated_at", "owner")


def without_read_only(body: Any, current: Subscription) -> Any:
    """A body fetched with GET may be sent back as is: read-only fields are dropped when they
    still hold the stored value, and refused when a client tries to change them."""
    if not isinstance(body, dict):
        return body
    stored = current.model_dump(mode="json")
    for field in READ_ONLY:
        if field in body:
            if body[field] != stored[field]:
                raise InvalidInput(f"{field}: read-only")
            del body[field]
    return body


@bp.put("/<sub_id>")
def replace(sub_id: str) -> Response:
    def compute(current: Subscription) -> tuple[Any, int | None]:
        return without_read_only(json_body(), current), None

    return _write(sub_id, "update", compute)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON Merge Patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


@bp.patch("/<sub_id>")
def patch(sub_id: str) -> Response:
    def compute(current: Subscription) -> tuple[Any, int | None]:
        body = json_body(MERGE_PATCH_TYPES)  # parsed afresh: without_read_only edits it
        if not isinstance(body, dict):
            raise InvalidInput("a merge patch must be a JSON object")
        body = without_read_only(body, current)
        base = current.to_input()
        if "notify_endpoint" in body:
            base.pop("sink", None)
        version = body.pop("version", None)
        if version is not None:
            # The same JSON Schema integer as in a PUT body (2 and 2.0; not true, "2" or 2.5).
            try:
                version = _VERSION.validate_python(version)
            except ValidationError:
                raise InvalidInput("version: must be an integer") from None
        return merge_patch(base, body), version

    return _write(sub_id, "patch", compute)


@bp.delete("/<sub_id>")
def delete(sub_id: str) -> Response:
    current = visible(sub_id, "delete")
    refuse_if_kubernetes(current)
    services().store.delete(sub_id, expected_version=expected_version())
    return Response(status=204)


@bp.post("/<sub_id>/secret")
def rotate_secret(sub_id: str) -> Response:
    current = visible(sub_id, "rotate_secret")
    refuse_if_kubernetes(current)
    body = json_body(optional=True)
    try:
        options = SecretRotationInput.model_validate({} if body is None else body)
    except ValidationError as exc:
        raise to_invalid_input(exc) from None
    hours = services().settings.secret_grace_hours
    grace = timedelta(hours=hours)
    if options.grace_period is not None:
        try:
            seconds = from_iso_duration(options.grace_period)
        except ValueError as exc:
            raise InvalidInput(f"grace_period: {exc}") from None
        # Compared as seconds: timedelta itself overflows on a long enough duration.
        if seconds > timedelta(days=30).total_seconds():
            raise InvalidInput("grace_period: at most 30 days")
        grace = timedelta(seconds=seconds)
    keys = services().store.rotate_secret(sub_id, grace)
    rotation = SecretRotation(
        id=sub_id, secret=keys.current, previous_expires_at=keys.previous_expires_at
    )
    return jsonify(rotation.model_dump(mode="json"))


YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")


@bp.get("/<sub_id>/trigger")
def trigger(sub_id: str) -> Response:
    sub = visible(sub_id, "get_trigger")
    target = services().trigger
    rendered = triggers.to_trigger(
        sub, broker=target.broker, namespace=target.namespace, function_url=target.function_url
    )
    offered = ["application/json", *YAML_TYPES]
    best = request.accept_mimetypes.best_match(offered) if request.accept_mimetypes else offered[0]
    if best is None:
        raise NotAcceptable("the Trigger is available as application/json or application/yaml")
    if best in YAML_TYPES:
        return Response(yaml.safe_dump(rendered, sort_keys=False), mimetype="application/yaml")
    return Response(json.dumps(rendered), mimetype="application/json")
