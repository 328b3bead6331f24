"""The EventSubscription CRD: a valid CRD that accepts every example and refuses bad specs."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.k8s.validation import (
    CRD_FILE,
    ROOT,
    crd,
    crd_schema,
    event_subscription_errors,
    load_documents,
    object_errors,
)

EXAMPLES = sorted((ROOT / "k8s" / "examples").glob("*.yaml"))


def _example_documents() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{path.name}#{index}", doc)
        for path in EXAMPLES
        for index, doc in enumerate(load_documents(path.read_text()))
    ]


def test_the_crd_is_a_valid_apiextensions_v1_object() -> None:
    assert object_errors(crd()) == []


def _untyped_nodes(node: dict[str, Any], path: str) -> list[str]:
    # A structural schema types every node; the API server refuses the CRD otherwise.
    found = [] if "type" in node else [path]
    for name, sub in node.get("properties", {}).items():
        found += _untyped_nodes(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        found += _untyped_nodes(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        found += _untyped_nodes(node["additionalProperties"], f"{path}{{}}")
    return found


def test_the_schema_is_structural() -> None:
    text = CRD_FILE.read_text()
    assert "$ref" not in text
    assert _untyped_nodes(crd_schema(), "") == []


def test_kubectl_shows_ready_sink_types_and_age_and_knows_the_short_name() -> None:
    version = crd()["spec"]["versions"][0]
    columns = {column["name"] for column in version["additionalPrinterColumns"]}
    assert {"Ready", "Sink", "Types", "Age"} <= columns
    assert "evsub" in crd()["spec"]["names"]["shortNames"]
    assert version["subresources"] == {"status": {}}
    status = crd_schema()["properties"]["status"]["properties"]
    assert {"conditions", "observedGeneration", "subscriptionId"} <= set(status)


def test_there_are_examples_including_the_lease_with_two_endpoints() -> None:
    names = {path.name for path in EXAMPLES}
    assert "lease-two-endpoints.yaml" in names
    docs = load_documents((ROOT / "k8s/examples/lease-two-endpoints.yaml").read_text())
    assert len(docs) == 2
    assert docs[0]["spec"]["leaseId"] == docs[1]["spec"]["leaseId"]
    assert docs[0]["spec"]["notifyEndpoint"] != docs[1]["spec"]["notifyEndpoint"]


@pytest.mark.parametrize(
    ("name", "doc"), _example_documents(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_example_is_accepted(name: str, doc: dict[str, Any]) -> None:
    assert event_subscription_errors(doc) == [], name


GOOD: dict[str, Any] = load_documents((ROOT / "k8s/examples/webhook.yaml").read_text())[0]


def _with(path: str, value: Any) -> dict[str, Any]:
    """GOOD with spec.<path> set (or deleted when value is ...)."""
    doc = copy.deepcopy(GOOD)
    node = doc["spec"]
    *parents, leaf = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    if value is ...:
        node.pop(leaf, None)
    else:
        node[leaf] = value
    return doc


def _notify(ip_address: str, port: int) -> dict[str, Any]:
    doc = _with("sink", ...)
    doc["spec"]["notifyEndpoint"] = {"ipAddress": ip_address, "port": port}
    return doc


BAD = {
    "no sink at all": (_with("sink", ...), "exactly one of sink, sinkRef or notifyEndpoint"),
    "sink and sinkRef": (
        _with("sinkRef", {"apiVersion": "v1", "kind": "Service", "name": "x"}),
        "exactly one of sink, sinkRef or notifyEndpoint",
    ),
    "ftp sink": (_with("sink", "ftp://files.example.org/"), "http:// or https://"),
    "credentials in sink": (_with("sink", "https://user:pw@example.org/"), "without credentials"),
    "sink without scheme": (_with("sink", "example.org/hook"), "http:// or https://"),
    "unknown spec field": (_with("sinkUrl", "https://x.example.org/"), "sinkUrl"),
    "two dialects in one filter": (
        _with("filters", [{"exact": {"type": "a"}, "prefix": {"type": "b"}}]),
        "exactly one dialect",
    ),
    "unknown dialect": (_with("filters", [{"regex": {"type": "a.*"}}]), "regex"),
    "empty exact filter": (_with("filters", [{"exact": {}}]), "exact"),
    "bad attribute name": (_with("filters", [{"exact": {"Lease-Id": "x"}}]), "attribute names"),
    "sql is not supported yet": (_with("filters", [{"sql": "leaseid = 'x'"}]), "sql"),
    "negative retry": (_with("delivery.retry", -1), "retry"),
    "unknown backoff policy": (_with("delivery.backoffPolicy", "random"), "backoffPolicy"),
    "backoff delay not ISO 8601": (_with("delivery.backoffDelay", "5s"), "backoffDelay"),
    "empty ISO 8601 duration": (_with("delivery.timeout", "PT"), "ISO 8601 duration"),
    "dead letter sink with uri and ref": (
        _with(
            "delivery.deadLetterSink",
            {
                "uri": "https://d.example.org/",
                "ref": {"apiVersion": "v1", "kind": "Service", "name": "n"},
            },
        ),
        "exactly one of uri or ref",
    ),
    "structured is spelled mode": (_with("protocolSettings.mode", "json"), "mode"),
    "GET is no delivery": (_with("protocolSettings.method", "GET"), "method"),
    "header overriding the signature": (
        _with("protocolSettings.headers", {"webhook-signature": "v1,forged"}),
        "must not set",
    ),
    "protocol other than HTTP": (_with("protocol", "AMQP"), "protocol"),
    "port out of range": (_notify("192.0.2.10", 70000), "port"),
    "hostname as notify ipAddress": (_notify("vm1.example.org", 80), "IPv4 or IPv6"),
    "secretRef without name": (_with("secretRef", {"key": "secret"}), "name"),
    "type with spaces": (_with("types", ["lease event"]), "types"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_the_crd_refuses_what_the_api_refuses(case: str) -> None:
    doc, expected = BAD[case]
    errors = event_subscription_errors(doc)
    assert errors, f"{case}: accepted"
    assert any(expected in error for error in errors), errors
