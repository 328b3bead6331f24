"""Generated bodies against the routes this API's writes and queues go through (PUT, PATCH,
the lease route, replay, rotation): whatever arrives, the answer is never a 5xx, an error is
Blazar-shaped, and nothing over quota or against the policy is ever stored."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from blazar_events.store import SubscriptionStore
from tests.api.conftest import MEMBER_A, SINK, create
from tests.api.conftest import settings as api_settings

SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = {
    "name": st.text(max_size=40),
    "sink": st.sampled_from([SINK, "http://127.0.0.1/", "ftp://x/", "https://h.invalid/", ""]),
    "types": st.lists(st.sampled_from(["lease.create", "x", "", "lease.event.start_lease"])),
    "filters": st.lists(JSON, max_size=3),
    "delivery": st.dictionaries(
        st.sampled_from(["retry", "timeout", "backoffDelay", "deadLetterSink", "x"]),
        SCALARS | st.sampled_from(["PT1S", "P1D", "http://10.0.0.2/", "https://d.invalid/"]),
    ),
    "dedicated_function": st.booleans() | SCALARS,
    "status": st.sampled_from(["ACTIVE", "DISABLED", "x"]) | SCALARS,
    "version": SCALARS,
    "project_id": st.sampled_from(["project-a", "project-b", "*"]) | SCALARS,
    "id": SCALARS,
    "since": st.sampled_from(["2026-01-01T00:00:00Z", "now"]) | SCALARS,
    "grace_period": st.sampled_from(["PT0S", "P31D", "PT1H"]) | SCALARS,
    "initial_state": st.booleans() | SCALARS,
}
BODIES = st.fixed_dictionaries({}, optional=FIELDS) | JSON  # type: ignore[arg-type]
ROUTES = ["put", "patch", "lease", "replay", "secret", "snapshot"]
# Each request uses up a rate limit or a quota slot: small limits make both paths common.
QUOTA = 4


@pytest.fixture
def fuzzed(store: SubscriptionStore) -> FlaskClient:
    app = create_app(
        api_settings(
            resolve_sinks=False,
            max_subscriptions_per_project=QUOTA,
            max_dedicated_functions_per_project=1,
            project_requests_per_interval=3,
        ),
        store=store,
    )
    return app.test_client()


def _call(client: FlaskClient, route: str, sub_id: str, body: Any, if_match: str | None) -> Any:
    headers = dict(MEMBER_A)
    if if_match is not None:
        headers["If-Match"] = if_match
    if route == "put":
        return client.put(f"/v1/subscriptions/{sub_id}", json=body, headers=headers)
    if route == "patch":
        return client.patch(f"/v1/subscriptions/{sub_id}", json=body, headers=headers)
    if route == "lease":
        wrapped = {"subscriptions": body if isinstance(body, list) else [body]}
        return client.post("/v1/leases/lease-1/subscriptions", json=wrapped, headers=headers)
    return client.post(f"/v1/subscriptions/{sub_id}/{route}", json=body, headers=headers)


@given(
    calls=st.lists(
        st.tuples(
            st.sampled_from(ROUTES), BODIES, st.none() | st.sampled_from(['"1"', '"2"', "x"])
        ),
        min_size=1,
        max_size=6,
    )
)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_bodies_never_5xx_and_never_pass_quota_or_policy(
    fuzzed: FlaskClient, store: SubscriptionStore, calls: list[tuple[str, Any, str | None]]
) -> None:
    for sub in store.list(project_id="project-a", limit=100):
        store.delete(sub.id)
    sub = create(fuzzed)
    for route, body, if_match in calls:
        response = _call(fuzzed, route, sub["id"], body, if_match)
        assert response.status_code < 500, response.get_data(as_text=True)
        if response.status_code >= 400:
            assert set(response.json) == {"error_code", "error_name", "error_message"}
    stored = list(itertools.chain(store.list(project_id="project-a", limit=100)))
    assert len(stored) <= QUOTA
    assert not any(s.dedicated_function for s in stored)  # members may not ask for one
    assert all(s.project_id == "project-a" for s in stored)
