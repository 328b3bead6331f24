"""Every error has Blazar's shape, including those Flask raises itself."""

import socket

import redis
from flask.testing import FlaskClient

from api.app import create_app
from blazar_events.store import SubscriptionStore
from tests.api.conftest import MEMBER_A, SINK, settings
from tests.conftest import PrivateRedis

SHAPE = {"error_code", "error_name", "error_message"}


def check(response, code: int, name: str) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == code
    assert response.mimetype == "application/json"
    assert set(response.json) == SHAPE
    assert response.json["error_code"] == code and response.json["error_name"] == name
    text: str = response.json["error_message"]
    assert "Traceback" not in text
    return text


def test_unknown_route_is_404(client: FlaskClient) -> None:
    check(client.get("/v2/nothing", headers=MEMBER_A), 404, "NotFound")
    check(client.get("/v2/nothing"), 404, "NotFound")


def test_wrong_method_is_405_with_allow(client: FlaskClient) -> None:
    response = client.delete("/v1/subscriptions", headers=MEMBER_A)
    check(response, 405, "MethodNotAllowed")
    assert "POST" in response.headers["Allow"]


def test_unknown_field_is_400_naming_it(client: FlaskClient) -> None:
    response = client.post(
        "/v1/subscriptions", json={"sink": SINK, "colour": "red"}, headers=MEMBER_A
    )
    assert "colour" in check(response, 400, "InvalidInput")


def test_trigger_in_an_unsupported_format_is_406(client: FlaskClient) -> None:
    created = client.post("/v1/subscriptions", json={"sink": SINK}, headers=MEMBER_A).json
    assert created is not None
    response = client.get(
        f"/v1/subscriptions/{created['id']}/trigger", headers={**MEMBER_A, "Accept": "image/png"}
    )
    check(response, 406, "NotAcceptable")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_redis_down_is_503_not_a_traceback() -> None:
    dead = SubscriptionStore(redis.Redis(port=_closed_port(), socket_connect_timeout=1), "x")
    client = create_app(settings(), store=dead).test_client()
    response = client.post("/v1/subscriptions", json={"sink": SINK}, headers=MEMBER_A)
    assert "Redis" in check(response, 503, "ServiceUnavailable")
    assert response.headers["Retry-After"]
    check(client.get("/healthz"), 503, "ServiceUnavailable")
    check(client.get("/v1/subscriptions", headers=MEMBER_A), 503, "ServiceUnavailable")


def test_the_api_recovers_by_itself_when_redis_returns(private_redis: PrivateRedis) -> None:
    store = SubscriptionStore(redis.Redis(port=private_redis.port, socket_timeout=2), "recovery")
    client = create_app(settings(), store=store).test_client()
    first = client.post("/v1/subscriptions", json={"sink": SINK}, headers=MEMBER_A)
    assert first.status_code == 201
    private_redis.stop()
    check(client.get("/v1/subscriptions", headers=MEMBER_A), 503, "ServiceUnavailable")
    private_redis.start()
    assert client.get("/healthz").status_code == 200
    again = client.post("/v1/subscriptions", json={"sink": SINK}, headers=MEMBER_A)
    assert again.status_code == 201
