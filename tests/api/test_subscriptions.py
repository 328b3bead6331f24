import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app
from blazar_events.store import SubscriptionStore
from tests.api.conftest import ADMIN, MEMBER_A, MEMBER_B, READER_A, SINK, create, settings


def test_create_returns_the_realized_subscription_with_location_etag_and_secret(
    client: FlaskClient,
) -> None:
    response = client.post(
        "/v1/subscriptions",
        json={"name": "gpu leases", "sink": SINK, "types": ["lease.event.start_lease"]},
        headers=MEMBER_A,
    )
    assert response.status_code == 201
    body = response.json
    assert body is not None
    assert body["types"] == ["org.openstack.blazar.lease.event.start_lease"]
    assert body["project_id"] == "project-a" and body["user_id"] == "alice"
    assert body["delivery"]["retry"] == 5 and body["protocolsettings"]["mode"] == "binary"
    assert body["secret"].startswith("whsec_")
    assert response.headers["Location"].endswith(f"/v1/subscriptions/{body['id']}")
    assert response.headers["ETag"] == '"1"'
    assert "warnings" not in body


def test_secret_is_never_shown_again(client: FlaskClient) -> None:
    sub = create(client)
    shown = client.get(f"/v1/subscriptions/{sub['id']}", headers=MEMBER_A).get_data(as_text=True)
    listed = client.get("/v1/subscriptions", headers=MEMBER_A).get_data(as_text=True)
    assert sub["secret"] not in shown and sub["secret"] not in listed
    assert '"secret"' not in shown


def test_unknown_type_is_accepted_with_a_warning(client: FlaskClient) -> None:
    sub = create(client, types=["lease.event.some_new_event"])
    assert "lease.event.some_new_event" in sub["warnings"][0]


def test_notify_endpoint_form(client: FlaskClient) -> None:
    sub = create(client, sink=None, notify_endpoint={"ip_address": "10.0.0.1", "port": 8217})
    assert sub["sink"] == "http://10.0.0.1:8217/"


def test_list_is_paginated_in_creation_order(client: FlaskClient) -> None:
    ids = [create(client, name=f"s{i}")["id"] for i in range(5)]
    page = client.get("/v1/subscriptions?limit=2", headers=MEMBER_A).json
    assert page is not None and [s["id"] for s in page["subscriptions"]] == ids[:2]
    seen = [s["id"] for s in page["subscriptions"]]
    while page["subscriptions_links"]:
        next_url = page["subscriptions_links"][0]["href"]
        page = client.get(next_url, headers=MEMBER_A).json
        assert page is not None
        seen += [s["id"] for s in page["subscriptions"]]
    assert seen == ids


def test_list_filters_by_lease_and_type(client: FlaskClient) -> None:
    on_lease = create(client, lease_id="lease-1")
    creates = create(client, types=["lease.create"])
    query = "/v1/subscriptions?lease_id=lease-1"
    assert [s["id"] for s in client.get(query, headers=MEMBER_A).json["subscriptions"]] == [  # type: ignore[index]
        on_lease["id"]
    ]
    listed = client.get("/v1/subscriptions?type=lease.delete", headers=MEMBER_A).json
    assert listed is not None
    assert creates["id"] not in [s["id"] for s in listed["subscriptions"]]


def test_list_refuses_unknown_parameters(client: FlaskClient) -> None:
    response = client.get("/v1/subscriptions?colour=red", headers=MEMBER_A)
    assert response.status_code == 400 and "colour" in response.json["error_message"]  # type: ignore[index]


def test_put_replaces_and_bumps_the_version(client: FlaskClient) -> None:
    sub = create(client, name="old", lease_id="lease-1")
    response = client.put(
        f"/v1/subscriptions/{sub['id']}",
        json={"name": "new", "sink": SINK},
        headers={**MEMBER_A, "If-Match": '"1"'},
    )
    assert response.status_code == 200
    assert response.json is not None
    assert (response.json["name"], response.json["lease_id"], response.json["version"]) == (
        "new",
        None,
        2,
    )
    assert response.headers["ETag"] == '"2"'


def test_stale_if_match_or_version_is_412(client: FlaskClient) -> None:
    sub = create(client)
    url = f"/v1/subscriptions/{sub['id']}"
    assert client.patch(url, json={"name": "a"}, headers=MEMBER_A).status_code == 200
    stale = client.patch(url, json={"name": "b"}, headers={**MEMBER_A, "If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json["error_name"] == "PreconditionFailed"  # type: ignore[index]
    stale_body = client.put(url, json={"sink": SINK, "version": 1}, headers=MEMBER_A)
    assert stale_body.status_code == 412
    assert client.get(url, headers=MEMBER_A).json["name"] == "a"  # type: ignore[index]
    deleted = client.delete(url, headers={**MEMBER_A, "If-Match": '"1"'})
    assert deleted.status_code == 412


def test_patch_merges(client: FlaskClient) -> None:
    sub = create(client, name="n", types=["lease.create"], delivery={"retry": 2})
    response = client.patch(
        f"/v1/subscriptions/{sub['id']}",
        json={"delivery": {"backoffPolicy": "linear"}, "name": None},
        headers=MEMBER_A,
    )
    assert response.status_code == 200
    body = response.json
    assert body is not None
    assert body["delivery"]["retry"] == 2 and body["delivery"]["backoffPolicy"] == "linear"
    assert body["name"] == "" and body["types"] == ["org.openstack.blazar.lease.create"]


def test_patch_can_switch_to_a_notify_endpoint(client: FlaskClient) -> None:
    sub = create(client)
    response = client.patch(
        f"/v1/subscriptions/{sub['id']}",
        json={"notify_endpoint": {"ip_address": "10.9.9.9", "port": 80}},
        headers=MEMBER_A,
    )
    assert response.json is not None and response.json["sink"] == "http://10.9.9.9:80/"


def test_reenable_a_disabled_subscription(client: FlaskClient, store) -> None:  # type: ignore[no-untyped-def]
    sub = create(client)
    store.set_status(sub["id"], "DISABLED", "sink answered 410 Gone")
    shown = client.get(f"/v1/subscriptions/{sub['id']}", headers=MEMBER_A).json
    assert shown is not None and shown["status_reason"] == "sink answered 410 Gone"
    response = client.patch(
        f"/v1/subscriptions/{sub['id']}", json={"status": "ACTIVE"}, headers=MEMBER_A
    )
    assert response.json is not None
    assert (response.json["status"], response.json["status_reason"]) == ("ACTIVE", None)


def test_delete(client: FlaskClient) -> None:
    sub = create(client)
    assert client.delete(f"/v1/subscriptions/{sub['id']}", headers=MEMBER_A).status_code == 204
    assert client.get(f"/v1/subscriptions/{sub['id']}", headers=MEMBER_A).status_code == 404


def test_reader_may_read_but_not_write(client: FlaskClient) -> None:
    sub = create(client)
    url = f"/v1/subscriptions/{sub['id']}"
    assert client.get(url, headers=READER_A).status_code == 200
    refused = client.delete(url, headers=READER_A)
    assert refused.status_code == 403 and refused.json["error_name"] == "PolicyNotAuthorized"  # type: ignore[index]
    response = client.post("/v1/subscriptions", json={"sink": SINK}, headers=READER_A)
    assert response.status_code == 403


def test_admin_creates_cross_project_and_lists_all(client: FlaskClient) -> None:
    everyone = create(client, headers=ADMIN, project_id="*")
    for_b = create(client, headers=ADMIN, project_id="project-b")
    mine = create(client)
    assert everyone["project_id"] == "*" and for_b["project_id"] == "project-b"
    listed = client.get("/v1/subscriptions?all_projects=true", headers=ADMIN).json
    assert listed is not None
    assert {everyone["id"], for_b["id"], mine["id"]} <= {s["id"] for s in listed["subscriptions"]}
    only_b = client.get("/v1/subscriptions?project_id=project-b", headers=ADMIN).json
    assert only_b is not None and [s["id"] for s in only_b["subscriptions"]] == [for_b["id"]]
    assert client.get(f"/v1/subscriptions/{for_b['id']}", headers=MEMBER_B).status_code == 200


def test_bad_filter_is_a_400_naming_the_expression(client: FlaskClient) -> None:
    response = client.post(
        "/v1/subscriptions",
        json={"sink": SINK, "filters": [{"regex": {"type": ".*"}}]},
        headers=MEMBER_A,
    )
    assert response.status_code == 400
    assert response.json is not None and response.json["error_name"] == "InvalidFilter"
    assert "regex" in response.json["error_message"]


def test_a_fetched_subscription_can_be_put_back_as_is(client: FlaskClient) -> None:
    sub = create(client, name="n")
    url = f"/v1/subscriptions/{sub['id']}"
    fetched = client.get(url, headers=MEMBER_A).json
    assert fetched is not None
    fetched["name"] = "renamed"
    response = client.put(url, json=fetched, headers=MEMBER_A)
    assert response.status_code == 200 and response.json is not None
    assert (response.json["name"], response.json["version"]) == ("renamed", 2)


def test_read_only_fields_cannot_be_changed(client: FlaskClient) -> None:
    sub = create(client)
    url = f"/v1/subscriptions/{sub['id']}"
    for field, value in (("id", "other"), ("owner", "k8s"), ("created_at", "2020-01-01T00:00:00Z")):
        response = client.patch(url, json={field: value}, headers=MEMBER_A)
        assert response.status_code == 400, field
        assert response.json is not None and f"{field}: read-only" in response.json["error_message"]


# --- writes without If-Match never land on a record they were not computed from ----------


class DisablingStore(SubscriptionStore):
    """The real store, with the sink's 410 landing between the API's read and its write (as
    it may from a broker at any moment): once, just before the first update."""

    armed = True

    def update(self, sub: Any, *args: Any, **kwargs: Any) -> Any:
        if self.armed:
            self.armed = False
            self.set_status(sub.id, "DISABLED", "the sink answered 410 Gone")
        return super().update(sub, *args, **kwargs)


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_write_without_if_match_keeps_a_concurrent_disable(
    store: SubscriptionStore, method: str
) -> None:
    racing = DisablingStore(store.client, store.prefix)
    client = create_app(settings(), store=racing).test_client()
    racing.armed = False
    sub = create(client)
    racing.armed = True
    body = {"name": "renamed"} if method == "patch" else {"sink": SINK, "name": "renamed"}
    response = getattr(client, method)(
        f"/v1/subscriptions/{sub['id']}", json=body, headers=MEMBER_A
    )
    assert response.status_code == 200, response.json
    stored = store.get(sub["id"])
    assert stored.status == "DISABLED" and stored.name == "renamed"
    assert response.json["status"] == "DISABLED"


def test_a_write_with_a_stale_if_match_is_412_even_after_a_disable(
    store: SubscriptionStore,
) -> None:
    racing = DisablingStore(store.client, store.prefix)
    client = create_app(settings(), store=racing).test_client()
    racing.armed = False
    sub = create(client)
    racing.armed = True
    response = client.patch(
        f"/v1/subscriptions/{sub['id']}",
        json={"name": "renamed"},
        headers={**MEMBER_A, "If-Match": '"1"'},
    )
    assert response.status_code == 412
    assert store.get(sub["id"]).name == ""


def test_patches_racing_a_disable_in_threads_never_revert_it(
    client: FlaskClient, store: SubscriptionStore, app: Flask
) -> None:
    sub = create(client)
    start = threading.Barrier(9)

    def rename(n: int) -> int:
        own = app.test_client()
        start.wait()
        return own.patch(
            f"/v1/subscriptions/{sub['id']}", json={"name": f"n{n}"}, headers=MEMBER_A
        ).status_code

    with ThreadPoolExecutor(8) as pool:
        renames = [pool.submit(rename, n) for n in range(8)]
        start.wait()
        store.set_status(sub["id"], "DISABLED", "the sink answered 410 Gone")
        codes = [f.result() for f in renames]
    assert set(codes) <= {200, 409}
    assert store.get(sub["id"]).status == "DISABLED"
