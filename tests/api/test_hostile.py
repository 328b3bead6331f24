"""What a hostile client sends: every answer is a 4xx in Blazar's shape naming the field, never
a 500, and nothing it sends reaches an internal address or smuggles a header."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from blazar_events.store import SubscriptionStore
from tests.api.conftest import ADMIN, MEMBER_A, MEMBER_B, SINK, create, settings


def refused(response: Any, code: int, *words: str) -> None:
    assert response.status_code == code, response.get_data(as_text=True)
    body = response.json
    assert set(body) == {"error_code", "error_name", "error_message"}
    assert body["error_code"] == code
    for word in words:
        assert word in body["error_message"]


@pytest.mark.parametrize(
    ("sink", "rule"),
    [
        ("http://[64:ff9b::a9fe:a9fe]/", "metadata"),  # NAT64 of the metadata service
        ("http://[2002:a9fe:a9fe::]/", "metadata"),  # 6to4
        ("http://[::ffff:0:7f00:1]/", "loopback"),  # SIIT
        ("http://[::7f00:1]:8080/", "loopback"),  # IPv4-compatible
        ("http://0x7f.1/", "loopback"),
        ("http://\u2460\u2461\u2466.0.0.1/", "loopback"),  # aiohttp connects to 127.0.0.1
        ("http://169.254.169.254./", "metadata"),
    ],
)
@pytest.mark.parametrize("resolve", [True, False])
def test_internal_sinks_in_disguise_are_refused(
    store: SubscriptionStore, sink: str, rule: str, resolve: bool
) -> None:
    client = create_app(settings(resolve_sinks=resolve), store=store).test_client()
    for body in ({"sink": sink}, {"sink": SINK, "delivery": {"deadLetterSink": sink}}):
        response = client.post("/v1/subscriptions", json=body, headers=MEMBER_A)
        refused(response, 400, f"rule={rule}")


def test_a_refused_dead_letter_sink_names_its_field(client: FlaskClient) -> None:
    body = {"sink": SINK, "delivery": {"deadLetterSink": "ftp://x.example/"}}
    response = client.post("/v1/subscriptions", json=body, headers=MEMBER_A)
    refused(response, 400, "delivery.deadLetterSink", "rule=scheme")


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        ({"X-Team\n": "ml"}, ("'X-Team\\n'",)),  # a trailing newline passed the name check
        ({"X-Team": "ml\n"}, ("X-Team",)),
        ({"X-Team": "a\u0000b"}, ("X-Team",)),
        ({"X-Team": "caf\u00e9"}, ("X-Team",)),
        ({"Content-Encoding": "gzip"}, ("Content-Encoding",)),
        ({"Upgrade": "h2c"}, ("Upgrade",)),
        ({"Expect": "100-continue"}, ("Expect",)),
        ({"TE": "trailers"}, ("TE",)),
        ({"Webhook-Signature": "v1,x"}, ("Webhook-Signature",)),
        ({"Host": "metadata"}, ("Host",)),
    ],
)
def test_protocol_headers_cannot_smuggle_or_break_the_request(
    client: FlaskClient, headers: dict[str, str], words: tuple[str, ...]
) -> None:
    body = {"sink": SINK, "protocolsettings": {"headers": headers}}
    response = client.post("/v1/subscriptions", json=body, headers=MEMBER_A)
    refused(response, 400, "protocolsettings.headers", *words)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"delivery": {"retry": True}}, "delivery.retry"),
        ({"sink": None, "notify_endpoint": {"ip_address": "10.0.0.1", "port": "80"}}, "port"),
        ({"project_id": "project-a\n"}, "project_id"),
        ({"lease_id": "lease\n"}, "lease_id"),
        ({"filters": [{"exact": {"type\n": "x"}}]}, "type"),
        ({"delivery": {"timeout": "PT1S\n"}}, "delivery.timeout"),
        ({"delivery": {"backoffDelay": "PT\u0661S"}}, "delivery.backoffDelay"),  # Arabic-Indic 1
    ],
)
def test_wrong_types_and_trailing_newlines_are_400_naming_the_field(
    client: FlaskClient, body: dict[str, Any], field: str
) -> None:
    sent = {"sink": SINK, **body}
    if sent["sink"] is None:
        del sent["sink"]
    response = client.post("/v1/subscriptions", json=sent, headers=MEMBER_A)
    refused(response, 400, field)


@pytest.mark.parametrize("if_match", ['"' + "9" * 5000 + '"', '"\u0661"', "W/" + "1" * 19])
def test_if_match_garbage_is_412_never_500(client: FlaskClient, if_match: str) -> None:
    sub = create(client)
    response = client.patch(
        f"/v1/subscriptions/{sub['id']}",
        json={"name": "x"},
        headers={**MEMBER_A, "If-Match": if_match},
    )
    refused(response, 412, "If-Match")
    shown = client.get(f"/v1/subscriptions/{sub['id']}", headers=MEMBER_A).json
    assert shown is not None and shown["name"] == ""


def test_a_boolean_version_is_not_version_1(client: FlaskClient) -> None:
    sub = create(client)
    response = client.patch(
        f"/v1/subscriptions/{sub['id']}", json={"version": True}, headers=MEMBER_A
    )
    refused(response, 400, "version")


@pytest.mark.parametrize("limit", ["\u0661", "1_0", " 5", "5\n", "9" * 5000])
def test_limit_takes_ascii_digits_only(client: FlaskClient, limit: str) -> None:
    response = client.get("/v1/subscriptions", query_string={"limit": limit}, headers=MEMBER_A)
    refused(response, 400, "limit")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"grace_period": "P" + "9" * 400 + "D"}, ("grace_period",)),  # was a 500 (overflow)
        ({"grace_period": "P999999999D"}, ("grace_period", "30 days")),
        ([], ()),
        ("not an object", ()),
    ],
)
def test_hostile_rotation_bodies_are_400_and_keep_the_secret(
    client: FlaskClient, store: SubscriptionStore, body: Any, words: tuple[str, ...]
) -> None:
    sub = create(client)
    response = client.post(f"/v1/subscriptions/{sub['id']}/secret", json=body, headers=MEMBER_A)
    refused(response, 400, *words)
    assert store.get_keys(sub["id"]).current == sub["secret"]


def test_the_secret_is_in_no_read_route_and_in_no_log(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sub = create(client, name="leaky?")
    rotation = client.post(f"/v1/subscriptions/{sub['id']}/secret", headers=MEMBER_A).json
    assert rotation is not None
    secrets = (sub["secret"], rotation["secret"], sub["secret"].removeprefix("whsec_"))
    reads = [
        (f"/v1/subscriptions/{sub['id']}", MEMBER_A),
        ("/v1/subscriptions", MEMBER_A),
        ("/v1/subscriptions?all_projects=true", ADMIN),
        (f"/v1/subscriptions/{sub['id']}/trigger", MEMBER_A),
        (f"/v1/subscriptions/{sub['id']}/deliveries", MEMBER_A),
        ("/v1/openapi.json", MEMBER_A),
    ]
    for path, headers in reads:
        for accept in ("application/json", "application/yaml"):
            response = client.get(path, headers={**headers, "Accept": accept})
            text = response.get_data(as_text=True)
            assert response.status_code in (200, 406), (path, text)
            assert not any(s in text for s in secrets), path
    assert caplog.records  # the routes above did log (oslo.policy at DEBUG)
    assert not any(s in caplog.text for s in secrets)


# --- what schemathesis found: the served document and the server disagreed --------------------


def test_an_empty_type_filter_is_no_filter(client: FlaskClient) -> None:
    sub = create(client)
    for path in ("/v1/subscriptions?type=", "/v1/leases/l1/subscriptions?type="):
        response = client.get(path, headers=MEMBER_A)
        assert response.status_code == 200, response.json
    listed = client.get("/v1/subscriptions?type=", headers=MEMBER_A).json
    assert listed is not None and [s["id"] for s in listed["subscriptions"]] == [sub["id"]]


def test_the_lease_form_takes_entries_shaped_like_a_get(client: FlaskClient) -> None:
    entry = {"sink": SINK, "lease_id": None, "name": "as fetched"}
    response = client.post(
        "/v1/leases/lease-1/subscriptions", json={"subscriptions": [entry]}, headers=MEMBER_A
    )
    assert response.status_code == 201, response.json
    assert response.json is not None
    assert response.json["subscriptions"][0]["lease_id"] == "lease-1"


def test_the_document_says_a_sink_is_required_but_not_for_a_patch(client: FlaskClient) -> None:
    document = client.get("/v1/openapi.json").json
    assert document is not None
    schemas = document["components"]["schemas"]
    required = [branch["required"] for branch in schemas["SubscriptionInput"]["oneOf"]]
    assert required == [["sink"], ["notify_endpoint"]]
    patch = document["paths"]["/v1/subscriptions/{sub_id}"]["patch"]["requestBody"]
    ref = patch["content"]["application/merge-patch+json"]["schema"]["$ref"]
    assert "oneOf" not in schemas[ref.rsplit("/", 1)[1]]
    response = client.post("/v1/subscriptions", json={"name": "no sink"}, headers=MEMBER_A)
    refused(response, 400, "sink")


def test_json_integers_are_integers_whatever_their_spelling(client: FlaskClient) -> None:
    body = {
        "notify_endpoint": {"ip_address": "10.0.0.1", "port": 8217.0},
        "delivery": {"retry": 3.0},
    }
    response = client.post("/v1/subscriptions", json=body, headers=MEMBER_A)
    assert response.status_code == 201, response.json
    assert response.json is not None and response.json["sink"] == "http://10.0.0.1:8217/"


def test_an_error_names_its_field_once(client: FlaskClient) -> None:
    response = client.post(
        "/v1/subscriptions", json={"sink": SINK, "types": ["not a type"]}, headers=MEMBER_A
    )
    refused(response, 400, "types: 'not a type'")
    assert response.json is not None and "types: types" not in response.json["error_message"]


def test_asking_for_more_deliveries_than_are_kept_returns_those_kept(client: FlaskClient) -> None:
    sub = create(client)
    response = client.get(f"/v1/subscriptions/{sub['id']}/deliveries?limit=5000", headers=MEMBER_A)
    assert response.status_code == 200, response.json
    assert response.json == {"deliveries": []}


@pytest.mark.parametrize(
    "body",
    [
        "[" * 30000 + "]" * 30000,  # was a 500: json.loads ran out of stack
        '{"sink": "http://10.0.0.1/", "filters": [' + '{"not": ' * 5000 + "{}" + "}" * 5000 + "]}",
        '{"name": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}",
    ],
)
def test_deeply_nested_bodies_are_400(client: FlaskClient, body: str) -> None:
    for method, path in (("post", "/v1/subscriptions"), ("post", "/v1/leases/l1/subscriptions")):
        response = client.open(
            path, method=method, data=body, content_type="application/json", headers=MEMBER_A
        )
        refused(response, 400, "nested")


def test_a_deep_merge_patch_is_400_not_a_stack_overflow(client: FlaskClient) -> None:
    sub = create(client)
    patch = '{"protocolsettings": ' + '{"headers": ' * 900 + "{}" + "}" * 900 + "}"
    response = client.patch(
        f"/v1/subscriptions/{sub['id']}",
        data=patch,
        content_type="application/merge-patch+json",
        headers=MEMBER_A,
    )
    refused(response, 400, "nested")


def test_a_project_cannot_add_subscriptions_without_bound(store: SubscriptionStore) -> None:
    # Each subscription costs the shared broker a match per event.
    client = create_app(settings(max_subscriptions_per_project=2), store=store).test_client()
    first = create(client)
    create(client)
    refused(client.post("/v1/subscriptions", json={"sink": SINK}, headers=MEMBER_A), 409, "2")
    create(client, headers=MEMBER_B)  # another project has its own count
    assert client.delete(f"/v1/subscriptions/{first['id']}", headers=MEMBER_A).status_code == 204
    two = {"subscriptions": [{"sink": SINK}, {"sink": SINK}]}
    response = client.post("/v1/leases/l1/subscriptions", json=two, headers=MEMBER_A)
    refused(response, 409, "at most 2")
    listed = client.get("/v1/subscriptions", headers=MEMBER_A).json
    assert listed is not None and len(listed["subscriptions"]) == 1
    create(client)


def test_a_chunked_body_past_the_limit_is_413_not_cut_and_parsed(client: FlaskClient) -> None:
    # Whitespace after a valid document: cut at the limit, the first 64 KiB parsed fine.
    body = b'{"sink": "' + SINK.encode() + b'"}' + b" " * 70000

    response = client.post(
        "/v1/subscriptions",
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers={**MEMBER_A, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},  # as gunicorn sets it
    )
    refused(response, 413)


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_version_2_0_is_version_2_like_every_json_integer(client: FlaskClient, method: str) -> None:
    sub = create(client)
    url = f"/v1/subscriptions/{sub['id']}"
    assert client.patch(url, json={"name": "first"}, headers=MEMBER_A).status_code == 200
    stale = client.open(url, method=method, json={"sink": SINK, "version": 1.0}, headers=MEMBER_A)
    refused(stale, 412, "version")
    body = {"sink": SINK, "name": "second", "version": 2.0}
    response = client.open(url, method=method, json=body, headers=MEMBER_A)
    assert response.status_code == 200 and response.json is not None
    assert (response.json["name"], response.json["version"]) == ("second", 3)
    fractional = client.open(url, method=method, json={"version": 3.5}, headers=MEMBER_A)
    refused(fractional, 400, "version")
