"""Reminders on a subscription through the API: accepted and shown, or refused with a 400 in
Blazar's shape that names the field; and the reminder type in the catalog and the document."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blazar_events.reminders import REMINDER_TYPE
from tests.api.conftest import MEMBER_A, SINK, create


def test_reminders_are_kept_normalised_and_can_be_patched(client: FlaskClient) -> None:
    created = create(client, reminders={"before_end": ["PT10M", "P1D", "PT1H", "PT3600S"],
                                        "before_start": ["PT15M"]})  # fmt: skip
    assert created["reminders"] == {"before_end": ["P1D", "PT1H", "PT10M"],
                                    "before_start": ["PT15M"]}  # fmt: skip
    path = f"/v1/subscriptions/{created['id']}"
    patched = client.patch(path, json={"reminders": {"before_start": ["PT5M"]}}, headers=MEMBER_A)
    assert patched.status_code == 200, patched.json
    # A JSON merge patch: the lists it names are replaced, the others kept.
    assert patched.json["reminders"] == {"before_end": ["P1D", "PT1H", "PT10M"],
                                         "before_start": ["PT5M"]}  # fmt: skip
    removed = client.patch(path, json={"reminders": None}, headers=MEMBER_A)
    assert removed.json["reminders"] is None


@pytest.mark.parametrize(
    ("reminders", "words"),
    [
        ({"before_end": ["PT0S"]}, "reminders.before_end: [0]: 'PT0S' is outside"),
        ({"before_end": ["PT1H", "P400D"]}, "reminders.before_end: [1]"),
        ({"before_start": ["PT0.5S"]}, "whole number of seconds"),
        ({"before_end": ["one hour"]}, "not an ISO 8601 duration"),
        ({"before_end": [f"PT{n}M" for n in range(1, 7)]}, "reminders.before_end"),
        ({"after_end": ["PT1H"]}, "reminders.after_end: unknown field"),
        ({"before_end": "PT1H"}, "reminders.before_end"),
    ],
)
def test_bad_reminders_are_a_400_naming_the_field(
    client: FlaskClient, reminders: dict[str, Any], words: str
) -> None:
    response = client.post("/v1/subscriptions", json={"sink": SINK, "reminders": reminders},
                           headers=MEMBER_A)  # fmt: skip
    assert response.status_code == 400, response.json
    assert set(response.json) == {"error_code", "error_name", "error_message"}
    assert words in response.json["error_message"]


def test_types_that_leave_reminders_out_are_refused(client: FlaskClient) -> None:
    body = {"sink": SINK, "types": ["lease.create"], "reminders": {"before_end": ["PT1H"]}}
    response = client.post("/v1/subscriptions", json=body, headers=MEMBER_A)
    assert response.status_code == 400
    assert "reminders" in response.json["error_message"]
    create(client, types=["lease.reminder"], reminders={"before_end": ["PT1H"]})


@settings(max_examples=60, suppress_health_check=list(HealthCheck), deadline=None)
@given(st.recursive(st.one_of(st.text(max_size=40), st.integers(), st.none()),
                    lambda inner: st.lists(inner, max_size=8)
                    | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                    max_leaves=20))  # fmt: skip
def test_any_reminders_value_is_accepted_or_a_400(client: FlaskClient, value: Any) -> None:
    response = client.post("/v1/subscriptions", json={"sink": SINK, "reminders": value},
                           headers=MEMBER_A)  # fmt: skip
    assert response.status_code in (201, 400), response.json
    if response.status_code == 400:
        assert "reminders" in response.json["error_message"]


def test_the_catalog_and_the_document_describe_reminders(client: FlaskClient) -> None:
    types = client.get("/v1/event-types", headers=MEMBER_A).json["event_types"]
    (entry,) = [t for t in types if t["type"] == REMINDER_TYPE]
    assert "lead_time" in entry["dataschema"]["v2"]["required"]
    document = client.get("/v1/openapi.json").json
    assert "reminders" in str(document)
    assert "before_end" in str(document) and "P366D" in str(document)
