"""The OpenAPI 3.1 document, generated from the pydantic models and the route table below.

A test checks that this table and Flask's URL map name exactly the same operations, and
schemathesis checks that every response matches the document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from flask import Blueprint, Response, jsonify
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api import schemas
from blazar_events import __version__
from blazar_events.subscription import SubscriptionInput

bp = Blueprint("openapi", __name__)

ID = {"name": "sub_id", "in": "path", "required": True, "schema": {"type": "string"}}
LEASE = {"name": "lease_id", "in": "path", "required": True, "schema": {"type": "string"}}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": 'the ETag ("<version>") the change is based on; 412 if stale or not one',
    "schema": {"type": "string", "pattern": r'^\s*(\*|(W/)?"?[0-9]{1,18}"?)\s*$'},
}


def _query(name: str, schema: dict[str, Any], text: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": text}


LIST_QUERY = [
    _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "page size (default 50)"),
    _query("marker", {"type": "string"}, "id of the last subscription of the previous page"),
    _query("lease_id", {"type": "string"}, "only subscriptions of this lease"),
    _query(
        "type",
        {"type": "string", "pattern": r"^([A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*)?$"},
        "only subscriptions that receive this event type",
    ),
    _query("project_id", {"type": "string"}, "another project ('*': all-projects ones); admin"),
    _query("all_projects", {"type": "boolean"}, "every project's subscriptions; admin"),
]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    responses: dict[int, type[BaseModel] | None]
    request: type[BaseModel] | None = None
    request_types: tuple[str, ...] = ("application/json",)
    request_required: bool = True
    parameters: list[dict[str, Any]] = field(default_factory=list)
    public: bool = False
    response_types: tuple[str, ...] = ("application/json",)


S, ONE = "/v1/subscriptions", "/v1/subscriptions/{sub_id}"
OPERATIONS = [
    Operation("post", S, "createSubscription", "Create a subscription",
              {201: schemas.SubscriptionView}, SubscriptionInput),
    Operation("get", S, "listSubscriptions", "List subscriptions",
              {200: schemas.SubscriptionList}, parameters=LIST_QUERY),
    Operation("get", ONE, "getSubscription", "Show a subscription",
              {200: schemas.SubscriptionView}, parameters=[ID]),
    Operation("put", ONE, "replaceSubscription", "Replace a subscription",
              {200: schemas.SubscriptionView}, SubscriptionInput, parameters=[ID, IF_MATCH]),
    Operation("patch", ONE, "patchSubscription", "Change a subscription (JSON merge patch)",
              {200: schemas.SubscriptionView}, schemas.SubscriptionPatch,
              request_types=("application/merge-patch+json", "application/json"),
              parameters=[ID, IF_MATCH]),
    Operation("delete", ONE, "deleteSubscription", "Delete a subscription", {204: None},
              parameters=[ID, IF_MATCH]),
    Operation("post", ONE + "/secret", "rotateSecret", "Rotate the signing secret",
              {200: schemas.SecretRotation}, schemas.SecretRotationInput,
              request_required=False, parameters=[ID]),
    Operation("get", ONE + "/trigger", "getTrigger", "The rendered Knative Trigger",
              {200: None}, parameters=[ID],
              response_types=("application/json", "application/yaml")),
    Operation("get", ONE + "/deliveries", "listDeliveries", "The delivery attempt log",
              {200: schemas.DeliveryList},
              parameters=[ID, _query("limit", {"type": "integer", "minimum": 1}, "how many")]),
    Operation("post", ONE + "/replay", "replayEvents", "Re-deliver the events since a time",
              {202: schemas.ReplayAccepted}, schemas.ReplayInput, parameters=[ID]),
    Operation("post", ONE + "/test", "sendTestEvent", "Send a synthetic test event",
              {202: schemas.SyntheticEventAccepted}, parameters=[ID]),
    Operation("post", ONE + "/snapshot", "requestSnapshot",
              "Send the latest state of each live lease the subscription sees",
              {202: schemas.SnapshotAccepted}, parameters=[ID]),
    Operation("get", "/v1/event-types", "listEventTypes", "The event-type catalog",
              {200: schemas.EventTypeList}),
    Operation("post", "/v1/leases/{lease_id}/subscriptions", "createLeaseSubscriptions",
              "Subscribe endpoints to one lease (the original proposal's form)",
              {201: schemas.LeaseSubscriptions}, schemas.LeaseSubscriptionsInput,
              parameters=[LEASE]),
    Operation("get", "/v1/leases/{lease_id}/subscriptions", "listLeaseSubscriptions",
              "List the subscriptions of one lease", {200: schemas.SubscriptionList},
              parameters=[LEASE, *(q for q in LIST_QUERY if q["name"] != "lease_id")]),
    Operation("get", "/v1/openapi.json", "getOpenAPI", "This document", {200: None},
              public=True),
    Operation("get", "/healthz", "health", "Whether the API can reach its store",
              {200: schemas.Health}, public=True),
]  # fmt: skip


Mode = Literal["validation", "serialization"]


def _schemas() -> tuple[dict[Any, Any], dict[str, Any]]:
    models: set[tuple[type[BaseModel], Mode]] = {(schemas.Error, "serialization")}
    for op in OPERATIONS:
        if op.request is not None:
            models.add((op.request, "validation"))
        models.update((m, "serialization") for m in op.responses.values() if m is not None)
    refs, defs = models_json_schema(
        sorted(models, key=lambda m: (m[0].__name__, m[1])),
        ref_template="#/components/schemas/{model}",
    )
    return refs, defs.get("$defs", {})


def _error_response(text: str) -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/Error"}
    return {"description": text, "content": {"application/json": {"schema": ref}}}


def to_document() -> dict[str, Any]:
    refs, components = _schemas()
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        responses: dict[str, Any] = {}
        for code, model in op.responses.items():
            entry: dict[str, Any] = {"description": op.summary}
            if code != 204:
                schema = refs[(model, "serialization")] if model else {}
                entry["content"] = {t: {"schema": schema} for t in op.response_types}
            if code in (200, 201) and model in (schemas.SubscriptionView,):
                entry["headers"] = {"ETag": {"schema": {"type": "string"}}}
            responses[str(code)] = entry
        responses["default"] = _error_response("an error in Blazar's shape")
        operation: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "parameters": op.parameters,
            "responses": responses,
        }
        if op.public:
            operation["security"] = []
        if op.request is not None:
            schema = refs[(op.request, "validation")]
            operation["requestBody"] = {
                "required": op.request_required,
                "content": {t: {"schema": schema} for t in op.request_types},
            }
        paths.setdefault(op.path, {})[op.method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "blazar-events subscriptions API",
            "version": __version__,
            "description": "Subscriptions to OpenStack Blazar lease events, delivered as "
            "signed CloudEvents. Errors use Blazar's shape.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "keystone": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"}
            },
        },
        "security": [{"keystone": []}],
    }


_DOCUMENT: dict[str, Any] = {}


@bp.get("/v1/openapi.json")
def document() -> Response:
    if not _DOCUMENT:
        _DOCUMENT.update(to_document())
    return jsonify(_DOCUMENT)
