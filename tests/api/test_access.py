"""Project B can neither see, change nor infer project A's subscriptions, on every route."""

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from blazar_events.store import SubscriptionStore
from tests.api.conftest import MEMBER_B, SINK, create

# (method, path under the subscription, body) for every route that names one subscription
ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "", None),
    ("PUT", "", {"sink": SINK}),
    ("PATCH", "", {"name": "stolen"}),
    ("DELETE", "", None),
    ("POST", "/secret", None),
    ("GET", "/trigger", None),
    ("GET", "/deliveries", None),
    ("POST", "/replay", {"since": "2026-01-01T00:00:00Z"}),
    ("POST", "/test", None),
    ("POST", "/snapshot", None),
]


@pytest.mark.parametrize(("method", "suffix", "body"), ROUTES)
def test_other_projects_subscription_is_not_found_exactly_like_a_missing_one(
    client: FlaskClient, store: SubscriptionStore, method: str, suffix: str, body: Any
) -> None:
    sub = create(client)
    before = store.get(sub["id"])
    theirs = client.open(
        f"/v1/subscriptions/{sub['id']}{suffix}", method=method, json=body, headers=MEMBER_B
    )
    missing_id = str(uuid.uuid4())
    missing = client.open(
        f"/v1/subscriptions/{missing_id}{suffix}", method=method, json=body, headers=MEMBER_B
    )
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json is not None and missing.json is not None
    assert theirs.json["error_message"].replace(sub["id"], "X") == missing.json[
        "error_message"
    ].replace(missing_id, "X")
    assert store.get(sub["id"]) == before
    assert store.get_keys(sub["id"]).current == sub["secret"]
    assert store.requests() == []


def test_list_shows_only_the_callers_project(client: FlaskClient) -> None:
    a = create(client, lease_id="lease-1")
    b = create(client, headers=MEMBER_B, lease_id="lease-1")
    for url in ("/v1/subscriptions", "/v1/leases/lease-1/subscriptions"):
        listed = client.get(url, headers=MEMBER_B).json
        assert listed is not None and [s["id"] for s in listed["subscriptions"]] == [b["id"]]
    assert a["id"] not in client.get("/v1/subscriptions", headers=MEMBER_B).get_data(as_text=True)


@pytest.mark.parametrize(
    "query", ["project_id=project-a", "all_projects=true", "project_id=*", "all_projects=1"]
)
def test_member_cannot_list_other_projects(client: FlaskClient, query: str) -> None:
    create(client)
    response = client.get(f"/v1/subscriptions?{query}", headers=MEMBER_B)
    assert response.status_code == 403


def test_member_cannot_create_for_another_project_or_all(client: FlaskClient) -> None:
    for project in ("project-a", "*"):
        response = client.post(
            "/v1/subscriptions", json={"sink": SINK, "project_id": project}, headers=MEMBER_B
        )
        assert response.status_code == 403, project
    lease_form = client.post(
        "/v1/leases/lease-1/subscriptions",
        json={"subscriptions": [{"sink": SINK, "project_id": "project-a"}]},
        headers=MEMBER_B,
    )
    assert lease_form.status_code == 403


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_member_cannot_move_a_subscription_to_another_project(
    client: FlaskClient, method: str
) -> None:
    mine = create(client, headers=MEMBER_B)
    response = client.open(
        f"/v1/subscriptions/{mine['id']}",
        method=method,
        json={"sink": SINK, "project_id": "project-a"},
        headers=MEMBER_B,
    )
    assert response.status_code == 403
    shown = client.get(f"/v1/subscriptions/{mine['id']}", headers=MEMBER_B).json
    assert shown is not None and shown["project_id"] == "project-b"


def test_identity_headers_are_required(client: FlaskClient) -> None:
    sub = create(client)
    for url in (f"/v1/subscriptions/{sub['id']}", "/v1/subscriptions", "/v1/event-types"):
        response = client.get(url)
        assert response.status_code == 401 and response.json is not None
        assert response.json["error_name"] == "NotAuthorized"
