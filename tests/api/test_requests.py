"""Reading a request body: too large (413), not JSON (415), malformed or not an object (400),
each in Blazar's error shape."""

from flask.testing import FlaskClient

from tests.api.conftest import MEMBER_A, SINK
from tests.api.test_errors import check


def test_body_too_large_is_413(client: FlaskClient) -> None:
    big = {"sink": SINK, "description": "x" * 70_000}
    check(client.post("/v1/subscriptions", json=big, headers=MEMBER_A), 413, "PayloadTooLarge")


def test_wrong_content_type_is_415(client: FlaskClient) -> None:
    response = client.post(
        "/v1/subscriptions", data="sink=x", content_type="application/x-www-form-urlencoded",
        headers=MEMBER_A,
    )  # fmt: skip
    assert "application/json" in check(response, 415, "UnsupportedMediaType")


def test_malformed_json_is_400(client: FlaskClient) -> None:
    response = client.post(
        "/v1/subscriptions", data="{", content_type="application/json", headers=MEMBER_A
    )
    assert "not valid JSON" in check(response, 400, "InvalidInput")


def test_non_object_body_is_400(client: FlaskClient) -> None:
    check(client.post("/v1/subscriptions", json=[1], headers=MEMBER_A), 400, "InvalidInput")
