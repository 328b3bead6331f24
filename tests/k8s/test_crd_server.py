"""The EventSubscription CRD on the stack's real kube-apiserver (CEL compiled and enforced).

The offline checks in test_crd.py read the schema as JSON Schema and evaluate CEL with
cel-python; only an API server compiles the rules against Kubernetes' types and costs, and
applies structural pruning, defaults and strict field validation. Every CEL rule of the CRD
and each kind of schema constraint is broken here once, and the refusal must carry the CRD's
own message.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from tests.k8s.kube import Kube
from tests.k8s.test_crd import BAD, EXAMPLES, GOOD
from tests.k8s.validation import crd_schema, load_documents

pytestmark = pytest.mark.kube


@pytest.fixture(scope="module")
def namespace(kube: Kube) -> str:
    return kube.namespace("crd")


def _rule_messages(node: dict[str, Any]) -> Iterator[str]:
    for rule in node.get("x-kubernetes-validations", []):
        yield " ".join(rule["message"].split())
    for sub in node.get("properties", {}).values():
        yield from _rule_messages(sub)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            yield from _rule_messages(node[key])


def _spec(**changes: Any) -> dict[str, Any]:
    """GOOD with spec fields replaced (None removes one)."""
    doc = copy.deepcopy(GOOD)
    doc["metadata"] = {"name": "refused"}
    for key, value in changes.items():
        if value is None:
            doc["spec"].pop(key, None)
        else:
            doc["spec"][key] = value
    return doc


def _delivery(**fields: Any) -> dict[str, Any]:
    return _spec(delivery=fields)


def _headers(headers: dict[str, str]) -> dict[str, Any]:
    return _spec(protocolSettings={"headers": headers})


REF = {"apiVersion": "v1", "kind": "Service", "name": "n"}

# One object per CEL rule of the CRD, keyed by the rule's message.
CEL_CASES: dict[str, dict[str, Any]] = {
    "exactly one of sink, sinkRef or notifyEndpoint must be set": _spec(sinkRef=REF),
    "each filter uses exactly one dialect: exact, prefix, suffix, all, any or not": _spec(
        filters=[{"exact": {"type": "a"}, "suffix": {"type": "b"}}]
    ),
    "attribute names are CloudEvents attribute names: lowercase letters and digits, at most 20": (
        _spec(filters=[{"prefix": {"Lease_Id": "x"}}])
    ),
    "sink must be an http:// or https:// URL without credentials": _spec(
        sink="https://user:secret@hooks.example.org/"
    ),
    "ipAddress must be an IPv4 or IPv6 address": _spec(
        sink=None, notifyEndpoint={"ipAddress": "vm-1.example.org", "port": 8080}
    ),
    "header names must be HTTP tokens": _headers({"X Bad Name": "v"}),
    "headers must not set Content-Type, Content-Length, Host, Transfer-Encoding, Connection, "
    "webhook-* or ce-*: the delivery sets them": _headers({"Ce-Source": "forged"}),
    "header values must not contain line breaks": _headers({"X-Note": "a\r\nX-Injected: 1"}),
    "backoffDelay must be an ISO 8601 duration such as PT0.5S or PT10S": _delivery(
        backoffDelay="PT"
    ),
    "timeout must be an ISO 8601 duration such as PT0.5S or PT10S": _delivery(timeout="P"),
    "deadLetterSink needs exactly one of uri or ref": _delivery(deadLetterSink={}),
    "deadLetterSink.uri must be an http:// or https:// URL": _delivery(
        deadLetterSink={"uri": "ftp://dead.example.org/"}
    ),
}

# One object per kind of schema constraint, and what the refusal names.
SCHEMA_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "enum": (_spec(protocol="AMQP"), 'spec.protocol: Unsupported value: "AMQP"'),
    "pattern": (_spec(leaseId="a lease"), "spec.leaseId in body should match"),
    "minimum": (
        _delivery(retry=-1),
        "spec.delivery.retry in body should be greater than or equal to 0",
    ),
    "maximum": (
        _spec(sink=None, notifyEndpoint={"ipAddress": "192.0.2.1", "port": 65536}),
        "spec.notifyEndpoint.port in body should be less than or equal to 65535",
    ),
    "minLength": (_spec(types=[""]), "spec.types[0] in body should be at least 1 chars long"),
    "maxLength": (_spec(description="x" * 1025), "spec.description: Too long"),
    "maxItems": (_spec(types=["t"] * 65), "spec.types: Too many"),
    "minItems": (
        _spec(filters=[{"any": []}]),
        "spec.filters[0].any in body should have at least 1 items",
    ),
    "minProperties": (
        _spec(filters=[{"exact": {}}]),
        "spec.filters[0].exact in body should have at least 1 properties",
    ),
    "maxProperties": (
        _headers({f"X-H{i}": "v" for i in range(33)}),
        "spec.protocolSettings.headers: Too many: 33: must have at most 32",
    ),
    "required": (_spec(secretRef={"key": "k"}), "spec.secretRef.name: Required value"),
    "type": (_delivery(retry="three"), 'spec.delivery.retry: Invalid value: "string"'),
    "unknown field": (_spec(sinkUrl="https://x.example.org/"), 'unknown field "spec.sinkUrl"'),
}  # fmt: skip


def test_the_crd_is_established(kube: Kube) -> None:
    crd = kube.get("crd", "eventsubscriptions.events.blazar.openstack.org")
    assert crd is not None
    conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert conditions["Established"] == "True"
    assert conditions.get("NonStructuralSchema") is None


def test_every_cel_rule_of_the_crd_has_a_case() -> None:
    assert set(_rule_messages(crd_schema())) == set(CEL_CASES)


def _example_documents() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{path.name}#{index}", doc)
        for path in EXAMPLES
        for index, doc in enumerate(load_documents(path.read_text()))
    ]


@pytest.mark.parametrize(
    ("name", "doc"), _example_documents(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_example_applies(kube: Kube, namespace: str, name: str, doc: dict[str, Any]) -> None:
    doc = copy.deepcopy(doc)
    doc["metadata"].pop("namespace", None)
    result = kube.apply(doc, namespace=namespace)
    assert result.ok, f"{name}: {result.err}"
    stored = kube.get("eventsubscription", doc["metadata"]["name"], namespace)
    assert stored is not None
    assert stored["spec"]["protocol"] == "HTTP"  # the CRD's defaults are applied


def _refusal(kube: Kube, namespace: str, doc: dict[str, Any]) -> str:
    result = kube.apply(doc, namespace=namespace)
    assert not result.ok, f"accepted: {doc['spec']}"
    assert kube.get("eventsubscription", doc["metadata"]["name"], namespace) is None
    return " ".join(result.err.split())


@pytest.mark.parametrize("message", sorted(CEL_CASES))
def test_each_cel_rule_refuses_with_its_message(kube: Kube, namespace: str, message: str) -> None:
    assert message in _refusal(kube, namespace, CEL_CASES[message])


@pytest.mark.parametrize("constraint", sorted(SCHEMA_CASES))
def test_each_schema_constraint_refuses(kube: Kube, namespace: str, constraint: str) -> None:
    doc, expected = SCHEMA_CASES[constraint]
    assert expected in _refusal(kube, namespace, doc)


@pytest.mark.parametrize("case", sorted(BAD))
def test_what_the_offline_checks_refuse_the_server_refuses(
    kube: Kube, namespace: str, case: str
) -> None:
    doc, expected = copy.deepcopy(BAD[case])
    doc["metadata"] = {"name": "refused"}
    assert expected in _refusal(kube, namespace, doc)


def test_an_empty_filter_is_refused_as_naming_no_dialect(kube: Kube, namespace: str) -> None:
    error = _refusal(kube, namespace, _spec(filters=[{}]))
    assert "each filter uses exactly one dialect" in error
