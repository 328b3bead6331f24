"""The API behind keystonemiddleware with real Keystone tokens, as a cloud would run it.

Two projects with a member each, a reader in the first, and a cloud admin in a third, all
created through Keystone's API with the stack's bootstrap admin.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import redis
from flask.testing import FlaskClient

from api.app import create_app
from blazar_events.store import SubscriptionStore
from stack.identity import KeystoneAdmin
from tests.api.conftest import SINK, settings
from tests.conftest import unique_name


@dataclass
class Identity:
    project_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Auth-Token": self.token}


@dataclass
class Cloud:
    member_a: Identity
    reader_a: Identity
    member_b: Identity
    admin: Identity


def _token(auth_url: str, user: str, password: str, project_id: str) -> str:
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": user, "domain": {"id": "default"}, "password": password}
                },
            },
            "scope": {"project": {"id": project_id}},
        }
    }
    response = httpx.post(f"{auth_url}/auth/tokens", json=body, timeout=30)
    response.raise_for_status()
    return response.headers["X-Subject-Token"]


@pytest.fixture(scope="module")
def cloud(keystone: KeystoneAdmin) -> Iterator[Cloud]:
    url = keystone.auth_url
    admin = httpx.Client(base_url=url, headers={"X-Auth-Token": keystone.token()}, timeout=30)
    roles = {r["name"]: r["id"] for r in admin.get("/roles").json()["roles"]}
    tag = uuid.uuid4().hex[:8]
    created: list[str] = []

    def project(name: str) -> str:
        answer = admin.post("/projects", json={"project": {"name": f"{name}-{tag}"}})
        answer.raise_for_status()
        created.append(f"/projects/{answer.json()['project']['id']}")
        return str(answer.json()["project"]["id"])

    def user(name: str, project_id: str, role: str) -> Identity:
        password = uuid.uuid4().hex
        answer = admin.post(
            "/users", json={"user": {"name": f"{name}-{tag}", "password": password}}
        )
        answer.raise_for_status()
        user_id = answer.json()["user"]["id"]
        created.append(f"/users/{user_id}")
        admin.put(f"/projects/{project_id}/users/{user_id}/roles/{roles[role]}").raise_for_status()
        return Identity(project_id, _token(url, f"{name}-{tag}", password, project_id))

    a, b = project("blazar-events-a"), project("blazar-events-b")
    operators = project("blazar-events-ops")
    yield Cloud(
        member_a=user("alice", a, "member"),
        reader_a=user("rita", a, "reader"),
        member_b=user("bob", b, "member"),
        admin=user("carol", operators, "admin"),
    )
    for path in reversed(created):
        admin.delete(path)
    admin.close()


@pytest.fixture(scope="module")
def client(keystone: KeystoneAdmin, redis_url: str) -> Iterator[FlaskClient]:
    # One app for the module: auth_token's token cache then spares Keystone a validation per
    # request, as it does in production.
    redis_client = redis.Redis.from_url(redis_url)
    prefix = unique_name("blazar-events-keystone")
    store = SubscriptionStore(redis_client, prefix)
    app = create_app(
        settings(
            auth_strategy="keystone",
            keystone_auth_url=keystone.auth_url,
            keystone_username=keystone.username,
            keystone_password=keystone.password,
            keystone_project_name=keystone.project_name,
        ),
        store=store,
    )
    yield app.test_client()
    for key in redis_client.scan_iter(match=f"{prefix}*", count=500):
        redis_client.delete(key)
    redis_client.close()


def test_no_or_bad_token_is_401_in_blazars_shape(client: FlaskClient) -> None:
    for headers in ({}, {"X-Auth-Token": "not-a-token"}):
        response = client.get("/v1/subscriptions", headers=headers)
        assert response.status_code == 401, headers
        assert response.json is not None and response.json["error_name"] == "NotAuthorized"
        assert response.headers["WWW-Authenticate"].startswith("Keystone uri=")


def test_member_creates_in_their_project_and_the_other_project_cannot_see_it(
    client: FlaskClient, cloud: Cloud
) -> None:
    created = client.post("/v1/subscriptions", json={"sink": SINK}, headers=cloud.member_a.headers)
    assert created.status_code == 201 and created.json is not None
    sub = created.json
    assert sub["project_id"] == cloud.member_a.project_id
    url = f"/v1/subscriptions/{sub['id']}"
    assert client.get(url, headers=cloud.member_a.headers).status_code == 200
    assert client.get(url, headers=cloud.member_b.headers).status_code == 404
    assert client.delete(url, headers=cloud.member_b.headers).status_code == 404
    listed = client.get("/v1/subscriptions", headers=cloud.member_b.headers).json
    assert listed is not None
    assert sub["id"] not in [s["id"] for s in listed["subscriptions"]]


def test_spoofed_identity_headers_are_ignored(client: FlaskClient, cloud: Cloud) -> None:
    spoof = {
        **cloud.member_b.headers,
        "X-Project-Id": cloud.member_a.project_id,
        "X-Roles": "admin",
    }
    created = client.post("/v1/subscriptions", json={"sink": SINK}, headers=spoof)
    assert created.status_code == 201 and created.json is not None
    assert created.json["project_id"] == cloud.member_b.project_id
    everything = client.get("/v1/subscriptions?all_projects=true", headers=spoof)
    assert everything.status_code == 403


def test_reader_reads_but_cannot_write(client: FlaskClient, cloud: Cloud) -> None:
    created = client.post("/v1/subscriptions", json={"sink": SINK}, headers=cloud.member_a.headers)
    assert created.json is not None
    url = f"/v1/subscriptions/{created.json['id']}"
    assert client.get(url, headers=cloud.reader_a.headers).status_code == 200
    assert client.patch(url, json={"name": "x"}, headers=cloud.reader_a.headers).status_code == 403
    refused = client.post("/v1/subscriptions", json={"sink": SINK}, headers=cloud.reader_a.headers)
    assert refused.status_code == 403


def test_member_cannot_subscribe_for_another_project(client: FlaskClient, cloud: Cloud) -> None:
    response = client.post(
        "/v1/subscriptions",
        json={"sink": SINK, "project_id": cloud.member_a.project_id},
        headers=cloud.member_b.headers,
    )
    assert response.status_code == 403


def test_admin_subscribes_across_projects_and_sees_every_project(
    client: FlaskClient, cloud: Cloud
) -> None:
    mine = client.post("/v1/subscriptions", json={"sink": SINK}, headers=cloud.member_a.headers)
    everyone = client.post(
        "/v1/subscriptions", json={"sink": SINK, "project_id": "*"}, headers=cloud.admin.headers
    )
    assert everyone.status_code == 201 and everyone.json is not None
    assert mine.json is not None
    listed = client.get("/v1/subscriptions?all_projects=true", headers=cloud.admin.headers).json
    assert listed is not None
    assert {mine.json["id"], everyone.json["id"]} <= {s["id"] for s in listed["subscriptions"]}
    hidden = client.get(f"/v1/subscriptions/{everyone.json['id']}", headers=cloud.member_a.headers)
    assert hidden.status_code == 404
