"""Turning stored subscriptions into responses, and the checks shared by the write routes."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from api.access import authorize, caller, services
from api.requests import etag
from blazar_events import egress
from blazar_events.errors import Conflict, SinkRefused
from blazar_events.subscription import Subscription, SubscriptionInput


def to_view(
    sub: Subscription, *, warnings: list[str] | None = None, secret: str | None = None
) -> dict[str, Any]:
    """The JSON of :class:`api.schemas.SubscriptionView`; the secret only when given."""
    view = sub.model_dump(mode="json")
    if warnings:
        view["warnings"] = warnings
    if secret:
        view["secret"] = secret
    return view


def to_response(
    sub: Subscription,
    status: int = 200,
    *,
    warnings: list[str] | None = None,
    secret: str | None = None,
) -> Response:
    response = jsonify(to_view(sub, warnings=warnings, secret=secret))
    response.status_code = status
    response.headers["ETag"] = etag(sub.version)
    return response


def settle_project(spec: SubscriptionInput, current: str | None = None) -> str:
    """The project a body asks for: its own, unless an admin names another (or '*')."""
    context = caller()
    wanted = str(spec.project_id or current or context.project_id)
    if wanted != context.project_id and wanted != current:
        authorize("blazar-events:subscription:create_cross_project", wanted)
    return wanted


def check_quota(project_id: str, adding: int = 1) -> None:
    """Refuse a create past the project's quota: every subscription costs the shared broker
    a match per event, so one project must not be able to add them without bound."""
    quota = services().settings.max_subscriptions_per_project
    if quota and services().store.count(project_id) + adding > quota:
        raise Conflict(
            f"project {project_id} may have at most {quota} subscriptions "
            "(api max_subscriptions_per_project); delete some first"
        )


def check_sinks(spec: SubscriptionInput) -> list[str]:
    """Apply the SSRF policy to the sink and dead-letter sink; warnings for unresolvable hosts
    (the delivery checks again at connect time)."""
    warnings: list[str] = []
    settings = services().settings
    for field, url in (
        ("sink", spec.sink),
        ("delivery.deadLetterSink", spec.delivery.deadLetterSink),
    ):
        if url is None:
            continue
        try:
            egress.resolve_and_check(
                url, services().allowed_networks, resolve=settings.resolve_sinks
            )
        except SinkRefused as exc:
            if exc.details.get("rule") != "resolve":
                raise SinkRefused(f"{field}: {exc.message}", **exc.details) from None
            warnings.append(f"{field}: {exc.message}; it is checked again at each delivery")
    return warnings


def refuse_if_kubernetes(sub: Subscription) -> None:
    if sub.owner == "k8s":
        raise Conflict(
            f"subscription {sub.id} is managed by Kubernetes (an EventSubscription resource); "
            "change or delete it with kubectl, not through this API"
        )
