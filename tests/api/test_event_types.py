import json
from pathlib import Path

import jsonschema
from flask.testing import FlaskClient

from tests.api.conftest import MEMBER_A

FIXTURES = Path(__file__).parents[1] / "fixtures" / "blazar"


def test_catalog_lists_every_blazar_type_with_both_payload_schemas(client: FlaskClient) -> None:
    response = client.get("/v1/event-types", headers=MEMBER_A)
    assert response.status_code == 200 and response.json is not None
    catalog = {entry["type"]: entry for entry in response.json["event_types"]}
    assert "org.openstack.blazar.lease.event.before_end_lease.stop" in catalog
    assert len(catalog) == 9  # Blazar's seven + the synthetic test and snapshot events
    fixtures = [p for p in FIXTURES.glob("*-lease.*.json") if "future" not in p.name]
    assert len(fixtures) == 16
    for path in fixtures:
        body = json.loads(path.read_text())
        message = json.loads(body["oslo.message"]) if "oslo.message" in body else body
        generation = "legacy" if path.name.startswith("legacy-") else "v2"
        entry = catalog["org.openstack.blazar." + message["event_type"]]
        jsonschema.validate(message["payload"], entry["dataschema"][generation])
