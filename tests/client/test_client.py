"""The client library against the API in keystone mode, found through the real catalog."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from keystoneauth1 import session
from keystoneauth1.identity import v3

from blazar_events_client import (
    Client,
    EndpointNotFound,
    HttpError,
    InvalidArgument,
    NotFound,
    PreconditionFailed,
)
from tests.client.conftest import Cloud, User

SINK = "http://10.0.0.1:8217/"


def _client(user: User, region: str | None = None) -> Client:
    auth = v3.Password(
        auth_url=user.auth_url,
        username=user.name,
        password=user.password,
        user_domain_id="default",
        project_id=user.project_id,
    )
    return Client(session.Session(auth=auth), region_name=region or user.region)


@pytest.fixture(scope="module")
def alice(cloud: Cloud) -> Iterator[Client]:
    yield _client(cloud.member_a)


def test_errors_carry_blazars_body(alice: Client) -> None:
    with pytest.raises(HttpError) as refused:
        alice.create_subscription({"sink": SINK, "colour": "blue"})
    error = refused.value
    assert error.status_code == error.error_code == 400
    assert error.body["error_code"] == 400 and error.error_name == error.body["error_name"]
    assert "colour" in error.error_message
    assert "(HTTP 400)" in str(error)


def test_versions_pages_and_preconditions(alice: Client) -> None:
    lease = str(uuid.uuid4())
    made = [alice.create_subscription({"sink": SINK, "lease_id": lease}) for _ in range(5)]
    paged = list(alice.list_subscriptions(lease_id=lease, page_size=2))
    assert sorted(s["id"] for s in paged) == sorted(s["id"] for s in made)
    assert len(list(alice.list_subscriptions(lease_id=lease, limit=3, page_size=2))) == 3
    first = made[0]
    alice.update_subscription(first["id"], {"name": "one"}, if_match=first["version"])
    with pytest.raises(PreconditionFailed):  # the version moved on with that change
        alice.update_subscription(first["id"], {"name": "two"}, if_match=first["version"])
    for sub in made:
        alice.delete_subscription(sub["id"])
    assert list(alice.list_subscriptions(lease_id=lease)) == []


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=40) | st.sampled_from([".", "..", "../..", "%2e", "?all_projects=1", "/"]))
def test_any_id_is_one_subscription_or_none(alice: Client, sub_id: str) -> None:
    """Whatever a user types as an ID, it names one subscription: it never reaches the list
    or another route by way of dots, slashes, query strings or odd characters."""
    for call in (alice.get_subscription, alice.delete_subscription, alice.send_test_event):
        try:
            call(sub_id)
        except (NotFound, InvalidArgument):
            continue
        raise AssertionError(f"{call.__name__}({sub_id!r}) did not answer 'no such subscription'")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(max_size=200), description=st.text(max_size=200))
def test_any_text_round_trips_or_is_refused_by_name(
    alice: Client, name: str, description: str
) -> None:
    try:
        created = alice.create_subscription(
            {"sink": SINK, "name": name, "description": description}
        )
    except HttpError as exc:
        assert exc.status_code == 400 and exc.error_name, exc
        return
    shown = alice.get_subscription(created["id"])
    assert (shown["name"], shown["description"]) == (name, description)
    alice.delete_subscription(created["id"])


def test_a_region_without_the_service_says_so(cloud: Cloud) -> None:
    lost = _client(cloud.member_a, region="RegionNowhere")
    with pytest.raises(EndpointNotFound, match="reservation-events"):
        lost.list_event_types()
