import json
from pathlib import Path

import jsonschema
import yaml
from flask.testing import FlaskClient

from tests.api.conftest import ADMIN, MEMBER_A, create

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "blazar_events" / "knative-trigger.schema.json").read_text()
)


def test_trigger_as_json_by_default_and_valid(client: FlaskClient) -> None:
    sub = create(client, types=["lease.create"], lease_id="lease-1")
    response = client.get(f"/v1/subscriptions/{sub['id']}/trigger", headers=MEMBER_A)
    assert response.status_code == 200 and response.mimetype == "application/json"
    trigger = response.json
    jsonschema.validate(trigger, SCHEMA)
    assert trigger is not None
    assert trigger["spec"]["subscriber"]["uri"].endswith(f"/subscriptions/{sub['id']}")
    assert {"exact": {"projectid": "project-a"}} in trigger["spec"]["filters"]


def test_trigger_as_yaml_when_asked(client: FlaskClient) -> None:
    sub = create(client)
    for accept in ("application/yaml", "application/x-yaml", "text/yaml"):
        response = client.get(
            f"/v1/subscriptions/{sub['id']}/trigger", headers={**MEMBER_A, "Accept": accept}
        )
        assert response.mimetype == "application/yaml"
        trigger = yaml.safe_load(response.get_data(as_text=True))
        jsonschema.validate(trigger, SCHEMA)
        assert (
            trigger["metadata"]["labels"]["events.blazar.openstack.org/subscription-id"]
            == (sub["id"])
        )


def test_a_dedicated_function_is_asked_for_through_the_api(client: FlaskClient) -> None:
    # Granted by an admin (the default policy), then seen and turned off by the project.
    sub = create(client, ADMIN, dedicated_function=True, project_id="project-a")
    assert sub["dedicated_function"] is True
    trigger = client.get(f"/v1/subscriptions/{sub['id']}/trigger", headers=MEMBER_A).json
    assert trigger is not None
    jsonschema.validate(trigger, SCHEMA)
    assert trigger["spec"]["subscriber"]["uri"] == (
        f"http://blazar-fn-{sub['id']}.blazar-events.svc.cluster.local/subscriptions/{sub['id']}"
    )
    patched = client.patch(
        f"/v1/subscriptions/{sub['id']}", json={"dedicated_function": False}, headers=MEMBER_A
    )
    assert patched.status_code == 200 and patched.json["dedicated_function"] is False  # type: ignore[index]


def test_dedicated_function_must_be_a_boolean(client: FlaskClient) -> None:
    response = client.post(
        "/v1/subscriptions",
        json={"sink": "https://hooks.example.org/", "dedicated_function": "please"},
        headers=MEMBER_A,
    )
    assert response.status_code == 400
    assert "dedicated_function" in response.json["error_message"]  # type: ignore[index]
