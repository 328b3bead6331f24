from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient

from blazar_events.store import SubscriptionStore
from tests.api.conftest import MEMBER_A, create


def test_rotation_returns_a_new_secret_and_keeps_the_old_one_for_24h(
    client: FlaskClient, store: SubscriptionStore
) -> None:
    sub = create(client)
    response = client.post(f"/v1/subscriptions/{sub['id']}/secret", headers=MEMBER_A)
    assert response.status_code == 200 and response.json is not None
    new = response.json["secret"]
    assert new.startswith("whsec_") and new != sub["secret"]
    expires = datetime.fromisoformat(response.json["previous_expires_at"])
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)
    keys = store.get_keys(sub["id"])
    assert keys.active() == [new, sub["secret"]]
    assert keys.active(expires + timedelta(seconds=1)) == [new]
    assert new not in client.get(f"/v1/subscriptions/{sub['id']}", headers=MEMBER_A).get_data(
        as_text=True
    )


def test_rotation_with_a_chosen_grace_period(client: FlaskClient, store: SubscriptionStore) -> None:
    sub = create(client)
    response = client.post(
        f"/v1/subscriptions/{sub['id']}/secret", json={"grace_period": "PT0S"}, headers=MEMBER_A
    )
    assert response.status_code == 200 and response.json is not None
    assert store.get_keys(sub["id"]).active() == [response.json["secret"]]


def test_bad_grace_period_is_400(client: FlaskClient) -> None:
    sub = create(client)
    for body in ({"grace_period": "tomorrow"}, {"grace_period": "P90D"}, {"grace": "PT1H"}):
        response = client.post(f"/v1/subscriptions/{sub['id']}/secret", json=body, headers=MEMBER_A)
        assert response.status_code == 400, body


def test_rotation_through_the_api_moves_the_version(
    client: FlaskClient, store: SubscriptionStore
) -> None:
    sub = create(client)
    client.post(f"/v1/subscriptions/{sub['id']}/secret", headers=MEMBER_A)
    shown = client.get(f"/v1/subscriptions/{sub['id']}", headers=MEMBER_A)
    assert shown.json is not None and shown.json["version"] == sub["version"] + 1
    assert shown.headers["ETag"] == f'"{sub["version"] + 1}"'
