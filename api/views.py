"""Turning stored subscriptions into responses, and the checks shared by the write routes."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from flask import Response, jsonify

from api.access import authorize, caller, services
from api.requests import etag
from blazar_events import egress
from blazar_events.errors import Conflict, SinkRefused
from blazar_events.store import Quota
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


def quota() -> Quota:
    """The per-project limits the store checks atomically with each create or update: every
    subscription costs the shared broker a match per event, and a dedicated function costs
    always-on pods, so one project must not add them without bound."""
    settings = services().settings
    return Quota(
        subscriptions=settings.max_subscriptions_per_project,
        dedicated_functions=settings.max_dedicated_functions_per_project,
    )


def check_dedicated(spec: SubscriptionInput, project_id: str, current: Subscription | None) -> None:
    """Turning a dedicated function on needs its own policy rule (admins by default): each
    one runs pods of its own. Keeping one an admin granted is not a new request."""
    if spec.dedicated_function and not (current is not None and current.dedicated_function):
        authorize("blazar-events:subscription:dedicated_function", project_id)


def check_sinks(spec: SubscriptionInput) -> list[str]:
    """Apply the SSRF policy to the sink and dead-letter sink; warnings for unresolvable hosts
    (the delivery checks again at connect time)."""
    return check_all_sinks([spec])[0]


def check_all_sinks(specs: Sequence[SubscriptionInput], field_prefix: str = "") -> list[list[str]]:
    """:func:`check_sinks` for several bodies at once, each body's warnings; ``field_prefix``
    (``subscriptions.{n}.``) names the entry in messages. Host names are resolved in the
    shared resolver pool, each distinct URL once, all within ``[api] resolve_budget_seconds``
    together (:mod:`api.resolver`): slow DNS costs a request that long, never a worker."""
    settings = services().settings
    allowed = services().allowed_networks
    named: list[tuple[int, str, str]] = []
    for n, spec in enumerate(specs):
        for field, url in (
            ("sink", spec.sink),
            ("delivery.deadLetterSink", spec.delivery.deadLetterSink),
        ):
            if url is None:
                continue
            name = field_prefix.format(n=n) + field
            # Syntax, literal addresses and localhost first: no DNS, refused at once.
            _refuse_named(
                name, functools.partial(egress.resolve_and_check, url, allowed, resolve=False)
            )
            if settings.resolve_sinks and egress.check_url(url).literal is None:
                named.append((n, name, url))
    urls = list(dict.fromkeys(url for _, _, url in named))
    calls = [
        functools.partial(egress.resolve_and_check, url, allowed, resolve=True) for url in urls
    ]
    outcomes = dict(
        zip(urls, services().resolver.run_all(calls, settings.resolve_budget_seconds), strict=True)
    )
    warnings: list[list[str]] = [[] for _ in specs]
    for n, name, url in named:
        outcome = outcomes[url]
        if isinstance(outcome, SinkRefused) and outcome.details.get("rule") == "resolve":
            warnings[n].append(f"{name}: {outcome.message}; it is checked again at each delivery")
        elif isinstance(outcome, SinkRefused):
            raise SinkRefused(f"{name}: {outcome.message}", **outcome.details) from None
        elif isinstance(outcome, BaseException):
            raise outcome
    return warnings


def _refuse_named(field: str, check: Callable[[], object]) -> None:
    try:
        check()
    except SinkRefused as exc:
        raise SinkRefused(f"{field}: {exc.message}", **exc.details) from None


def refuse_if_kubernetes(sub: Subscription) -> None:
    if sub.owner == "k8s":
        raise Conflict(
            f"subscription {sub.id} is managed by Kubernetes (an EventSubscription resource); "
            "change or delete it with kubectl, not through this API"
        )
