"""Offline validation of Kubernetes objects: what an API server would check, minus the server.

- Built-in kinds: the Kubernetes OpenAPI schemas that kubernetes-validate ships, strict
  (unknown fields are errors, as with ``kubectl apply``'s default field validation).
- Our EventSubscription: the CRD's own openAPIV3Schema, read as JSON Schema with unknown
  fields refused, plus every ``x-kubernetes-validations`` CEL rule evaluated with cel-python.
- Knative's objects: the hand-written JSON schemas in ``tests/k8s/schemas/`` (derived from
  Knative's CRDs, covering the fields this project uses).

A kind none of these knows is an error, never a silent pass.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
CRD_FILE = ROOT / "k8s" / "crds" / "eventsubscriptions.events.blazar.openstack.org.yaml"
SCHEMAS = Path(__file__).resolve().parent / "schemas"
KUBERNETES_VERSION = "1.33.0"

# (apiVersion, kind) -> schema file under tests/k8s/schemas/
KNATIVE_SCHEMAS = {
    ("eventing.knative.dev/v1", "Trigger"): "trigger.json",
    ("eventing.knative.dev/v1", "Broker"): "broker.json",
    ("sources.knative.dev/v1", "KafkaSource"): "kafkasource.json",
    ("serving.knative.dev/v1", "Service"): "knative-service.json",
}
OUR_KIND = ("events.blazar.openstack.org/v1alpha1", "EventSubscription")


def load_documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


@cache
def crd() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(CRD_FILE.read_text())
    return loaded


def crd_schema() -> dict[str, Any]:
    version = crd()["spec"]["versions"][0]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def _strict(node: Any) -> Any:
    """The structural schema as JSON Schema that refuses fields the schema does not name."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {
        key: _strict(value)
        for key, value in node.items()
        if not key.startswith("x-kubernetes-") and key != "properties"
    }
    if "properties" in node:
        out["properties"] = {name: _strict(sub) for name, sub in node["properties"].items()}
        if "additionalProperties" not in node and not node.get(
            "x-kubernetes-preserve-unknown-fields"
        ):
            out["additionalProperties"] = False
    return out


# The Kubernetes CEL library functions our rules use, beyond standard CEL.
def _lower_ascii(text: Any) -> Any:
    return celpy.celtypes.StringType(str(text).lower())


KUBERNETES_CEL_FUNCTIONS: dict[str, Any] = {"lowerAscii": _lower_ascii}


def _cel_rule_holds(rule: str, value: Any) -> bool:
    env = celpy.Environment()
    program = env.program(env.compile(rule), functions=KUBERNETES_CEL_FUNCTIONS)
    try:
        result = program.evaluate({"self": celpy.json_to_cel(value)})
    except celpy.CELEvalError as exc:
        raise AssertionError(f"CEL rule {rule!r} fails to evaluate: {str(exc)[:200]}") from None
    return bool(result)


def _cel_errors(schema: dict[str, Any], value: Any, path: str) -> list[str]:
    errors = [
        f"{path}: {rule.get('message', rule['rule'])}"
        for rule in schema.get("x-kubernetes-validations", [])
        if not _cel_rule_holds(rule["rule"], value)
    ]
    if isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                errors += _cel_errors(sub, value[name], f"{path}.{name}")
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for name, item in value.items():
                errors += _cel_errors(extra, item, f"{path}.{name}")
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            errors += _cel_errors(schema["items"], item, f"{path}[{index}]")
    return errors


def event_subscription_errors(obj: dict[str, Any]) -> list[str]:
    """Everything the API server would refuse in this EventSubscription, as readable lines."""
    schema = crd_schema()
    validator = jsonschema.Draft7Validator(_strict(copy.deepcopy(schema)))
    errors = [
        f"{'.'.join(str(p) for p in err.absolute_path) or '<root>'}: {err.message}"
        for err in validator.iter_errors(obj)
    ]
    if not errors:  # CEL runs only on values that passed the schema, as on a server
        errors += _cel_errors(schema, obj, "")
    return errors


@cache
def knative_schema(filename: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / filename).read_text())
    return loaded


def object_errors(obj: dict[str, Any]) -> list[str]:
    """Validate one object of any kind this project renders; [] when it is valid."""
    key = (obj.get("apiVersion", ""), obj.get("kind", ""))
    if key == OUR_KIND:
        return event_subscription_errors(obj)
    if key in KNATIVE_SCHEMAS:
        validator = jsonschema.Draft202012Validator(knative_schema(KNATIVE_SCHEMAS[key]))
        return [
            f"{'.'.join(str(p) for p in err.absolute_path) or '<root>'}: {err.message}"
            for err in validator.iter_errors(obj)
        ]
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in exc.path)
        return [f"{where}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError as exc:
        return [f"no schema for {key}: {exc.message}"]
    return []
