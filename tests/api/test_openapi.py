"""The served OpenAPI document matches the code: same routes, and every response conforms."""

from collections.abc import Iterator

import pytest
import redis
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings

from api.app import create_app
from blazar_events.store import SubscriptionStore
from stack.layout import REDIS_URL
from tests.api.conftest import MEMBER_A
from tests.api.conftest import settings as api_settings
from tests.conftest import unique_name


def _flask_operations(app: Flask) -> set[tuple[str, str]]:
    operations = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = rule.rule.replace("<", "{").replace(">", "}")
        for method in rule.methods or ():
            if method not in ("HEAD", "OPTIONS"):
                operations.add((method.lower(), path))
    return operations


def test_document_names_exactly_the_routes_of_the_app(app: Flask, client: FlaskClient) -> None:
    document = client.get("/v1/openapi.json").json
    assert document is not None and document["openapi"].startswith("3.1")
    documented = {(method, path) for path, item in document["paths"].items() for method in item}
    assert documented == _flask_operations(app)


def test_document_is_public_and_has_the_subscription_schema(client: FlaskClient) -> None:
    document = client.get("/v1/openapi.json").json
    assert document is not None
    fields = set(document["components"]["schemas"]["SubscriptionView"]["properties"])
    assert {"id", "types", "filters", "sink", "delivery", "version", "secret"} <= fields
    assert "colour" not in document["components"]["schemas"]["SubscriptionInput"]["properties"]
    assert document["components"]["schemas"]["SubscriptionInput"]["additionalProperties"] is False


# schemathesis parametrizes at import time, so the fuzzed app exists at import time too; its
# Redis client connects lazily, and the test asks for ``redis_url`` so a missing stack fails
# with the usual message. The prefix is this module's own and is removed afterwards.
FUZZ_PREFIX = unique_name("blazar-events-fuzz")
FUZZED_APP = create_app(
    api_settings(resolve_sinks=False),
    store=SubscriptionStore(redis.Redis.from_url(REDIS_URL), FUZZ_PREFIX),
)
schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", FUZZED_APP)


@pytest.fixture(scope="module", autouse=True)
def _remove_fuzz_keys() -> Iterator[None]:
    yield
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{FUZZ_PREFIX}*", count=500):
        client.delete(key)
    client.close()


CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
]


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_5xx_and_every_response_matches_the_document(
    case: schemathesis.Case, redis_url: str
) -> None:
    case.call_and_validate(headers={**dict(case.headers or {}), **MEMBER_A}, checks=CHECKS)
