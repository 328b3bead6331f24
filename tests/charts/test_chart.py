"""The Helm chart: lint, render every documented variant, validate every object offline."""

from __future__ import annotations

from typing import Any

import pytest

from blazar_events.reference import all_sections
from blazar_events.settings import Section
from tests.charts.render import CHART, REQUIRED, helm, merged, notes, render
from tests.k8s.validation import CRD_FILE, object_errors

# The variants docs/kubernetes.md documents, as values on top of REQUIRED.
VARIANTS: dict[str, dict[str, Any]] = {
    "knative-default": {},
    "standalone-broker": {"knative": {"enabled": False}},
    "operator-in-two-namespaces": {"operator": {"watchNamespaces": ["team-a", "team-b"]}},
    "kafka-sasl-tls": {
        "kafka": {
            "securityProtocol": "SASL_SSL",
            "sasl": {"mechanism": "SCRAM-SHA-512", "existingSecret": "kafka-user"},
            "tls": {"caSecret": "kafka-ca"},
        },
        "knative": {"broker": {"authSecret": "kafka-broker-auth"}},
    },
    "noauth-development": {
        "api": {"auth": {"strategy": "noauth", "iUnderstandNoauthIsInsecure": True}}
    },
    "no-bridge": {"bridge": {"enabled": False}, "openstack": {"transportSecret": ""}},
    "private-tenant-networks": {
        "api": {"allowedNetworks": ["10.20.0.0/16"]},
        "function": {"allowedNetworks": ["10.20.0.0/16", "10.96.0.0/12"]},
    },
    "one-egress-policy": {"egress": {"allowedNetworks": ["10.20.0.0/16"]}},
}


def _values(variant: str) -> dict[str, Any]:
    return merged(REQUIRED, VARIANTS[variant])


def _kinds(objects: list[dict[str, Any]]) -> set[str]:
    return {obj["kind"] for obj in objects}


def _named(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def _pod_specs(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    specs = {}
    for obj in objects:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        knative_service = obj["apiVersion"] == "serving.knative.dev/v1"
        if obj["kind"] == "Deployment" or knative_service:
            specs[name] = obj["spec"]["template"]["spec"]
        elif obj["kind"] == "Pod":
            specs[name] = obj["spec"]
    return specs


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_helm_lint_passes(variant: str) -> None:
    result = helm("lint", "--strict", values=_values(variant))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_rendered_object_is_valid(variant: str) -> None:
    objects = render(_values(variant), "--include-crds")
    assert len(objects) > 10
    problems = {
        f"{obj['kind']}/{obj['metadata']['name']}": errors
        for obj in objects
        if (errors := object_errors(obj))
    }
    assert problems == {}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_pod_runs_non_root_on_a_read_only_root_with_limits(variant: str) -> None:
    for name, spec in _pod_specs(render(_values(variant))).items():
        if "securityContext" in spec:  # Knative takes the pod context from its config
            assert spec["securityContext"]["runAsNonRoot"] is True, name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert "memory" in container["resources"]["limits"], name
            if not name.startswith("Pod/"):  # the helm test pod runs once
                assert "readinessProbe" in container and "livenessProbe" in container, name


def _env(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, item)
        for name, spec in _pod_specs(objects).items()
        for container in spec["containers"]
        for item in container.get("env", [])
    ]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_credentials_come_from_secrets_only(variant: str) -> None:
    secret_like = ("_PASSWORD", "_TRANSPORT_URL", "REDIS_URL", "_SASL_USERNAME")
    for name, item in _env(render(_values(variant))):
        if item["name"].endswith(secret_like):
            assert "value" not in item and "secretKeyRef" in item["valueFrom"], (name, item)
    assert not [o for o in render(_values(variant)) if o["kind"] == "Secret"]


def test_every_environment_variable_is_a_setting_the_components_read() -> None:
    sections = all_sections()
    names = {
        f"BLAZAR_EVENTS_{section.upper()}_{field.upper()}"
        for section, cls in sections.items()
        for field in cls.model_fields
        if issubclass(cls, Section)
    }
    values = merged(_values("kafka-sasl-tls"), {"knative": {"enabled": False}})
    used = {item["name"] for _, item in _env(render(_values("knative-default")) + render(values))}
    unknown = sorted(name for name in used - names if name.split("_")[2].lower() in sections)
    assert unknown == [], f"not a field of its settings section: {unknown}"
    missing_sections = sorted({name.split("_")[2].lower() for name in used} - set(sections))
    assert missing_sections == []


def test_knative_mode_routes_through_a_kafka_broker_fed_from_the_topic() -> None:
    objects = render(_values("knative-default"))
    (broker,) = _named(objects, "Broker").values()
    assert broker["metadata"]["annotations"]["eventing.knative.dev/broker.class"] == "Kafka"
    (source,) = _named(objects, "KafkaSource").values()
    assert source["spec"]["topics"] == ["blazar.events"]
    assert source["spec"]["bootstrapServers"] == REQUIRED["kafka"]["bootstrapServers"]
    assert source["spec"]["sink"]["ref"]["name"] == broker["metadata"]["name"]
    assert source["spec"]["ordering"] == "ordered"  # one lease's events stay in order
    functions = [o for o in objects if o["apiVersion"] == "serving.knative.dev/v1"]
    assert [f["metadata"]["name"] for f in functions] == ["blazar-events-function"]
    assert "blazar-events-broker" not in _named(objects, "Deployment")


def test_the_core_triggers_point_at_the_function_this_chart_installs() -> None:
    from blazar_events import triggers

    objects = render(_values("knative-default"))
    (broker,) = _named(objects, "Broker").values()
    assert broker["metadata"]["name"] == triggers.DEFAULT_BROKER
    assert triggers.DEFAULT_NAMESPACE == "blazar-events"
    assert triggers.DEFAULT_FUNCTION_URL == (
        "http://blazar-events-function.blazar-events.svc.cluster.local"
    )
    assert "blazar-events-function" in {
        o["metadata"]["name"] for o in objects if o["apiVersion"] == "serving.knative.dev/v1"
    }


def test_standalone_mode_runs_the_broker_and_no_knative_object() -> None:
    objects = render(_values("standalone-broker"))
    assert not [o for o in objects if "knative.dev" in o["apiVersion"]]
    assert "blazar-events-broker" in _named(objects, "Deployment")
    assert "blazar-events-broker" in _named(objects, "PodDisruptionBudget")
    routing = _named(objects, "Role")["blazar-events-operator-routing"]
    assert all("eventing.knative.dev" not in rule["apiGroups"] for rule in routing["rules"])


def _rules(role: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    ]


def test_operator_rbac_is_least_privilege() -> None:
    objects = render(_values("knative-default"))
    cluster = _rules(_named(objects, "ClusterRole")["blazar-events-operator-blazar-events"])
    routing = _rules(_named(objects, "Role")["blazar-events-operator-routing"])
    for group, resource, verb in cluster + routing:
        assert "*" not in (group, resource, verb)
    # Cluster-wide it may only read subscriptions' inputs and write their status ...
    assert {(r, v) for g, r, v in cluster if g == ""} <= {
        ("secrets", "get"), ("secrets", "create"), ("services", "get"),
        ("namespaces", "get"), ("namespaces", "list"), ("namespaces", "watch"),
        ("events", "create"),
        ("events", "patch"),
    }  # fmt: skip
    assert not [rule for rule in cluster if rule[1] == "triggers"]
    # ... and it changes Triggers only in its own namespace.
    assert ("eventing.knative.dev", "triggers", "create") in routing
    assert ("eventing.knative.dev", "triggers", "delete") in routing


def test_operator_watching_two_namespaces_gets_roles_there_and_no_cluster_role() -> None:
    objects = render(_values("operator-in-two-namespaces"))
    # Cluster-wide it may only read those two Namespace objects (their project annotation).
    (cluster_role,) = _named(objects, "ClusterRole").values()
    assert cluster_role["rules"] == [
        {"apiGroups": [""], "resources": ["namespaces"],
         "resourceNames": ["team-a", "team-b"], "verbs": ["get"]}
    ]  # fmt: skip
    namespaces = {
        o["metadata"].get("namespace") for o in objects if o["kind"] in ("Role", "RoleBinding")
    }
    assert {"team-a", "team-b"} <= namespaces
    (operator,) = (o for o in objects if o["metadata"]["name"] == "blazar-events-operator"
                   and o["kind"] == "Deployment")  # fmt: skip
    args = operator["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args == ["operator", "--namespace=team-a", "--namespace=team-b"]


def test_disruption_budgets_cover_the_long_running_components() -> None:
    objects = render(_values("knative-default"))
    assert set(_named(objects, "PodDisruptionBudget")) == {
        "blazar-events-bridge",
        "blazar-events-api",
    }


def test_the_chart_ships_the_same_crd_as_k8s() -> None:
    shipped = (CHART / "crds" / CRD_FILE.name).read_text()
    assert shipped == CRD_FILE.read_text()


def test_helm_test_checks_the_api_through_its_service() -> None:
    objects = render(_values("knative-default"))
    (pod,) = _named(objects, "Pod").values()
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    script = pod["spec"]["containers"][0]["args"][0]
    assert "http://blazar-events-api:8090" in script and "/healthz" in script


def test_noauth_shows_a_warning_in_the_notes() -> None:
    assert "WARNING" in notes(_values("noauth-development"))
    default = notes(_values("knative-default"))
    assert "WARNING" not in default
    # It tells the installer how to create a first subscription, both ways.
    assert "kind: EventSubscription" in default
    assert "POST http://127.0.0.1:8090/v1/subscriptions" in default


@pytest.mark.parametrize(("knative", "secret"), [(True, ""), (False, "sealing-keys")])
def test_every_component_that_reads_signing_secrets_gets_the_sealing_keys(
    knative: bool, secret: str
) -> None:
    values = merged(REQUIRED, {"knative": {"enabled": knative},
                               "redis": {"secretsKey": {"existingSecret": secret}}})  # fmt: skip
    objects = render(values)
    ref = {"name": secret or "blazar-events-secrets-key", "key": "keys"}
    keyed = {name for name, item in _env(objects)
             if item["name"] == "BLAZAR_EVENTS_REDIS_SECRETS_KEYS"
             and item["valueFrom"]["secretKeyRef"] == ref}  # fmt: skip
    # The reminder scheduler reads subscriptions but never their signing keys.
    readers = {name for name in _pod_specs(objects)
               if not any(part in name for part in ("bridge", "test", "reminders"))}  # fmt: skip
    assert keyed == readers  # the API, the operator, and the broker or the function
    assert not [name for name in keyed if "bridge" in name]
    assert "create secret generic " + (secret or "blazar-events-secrets-key") in notes(values)


def _egress(objects: list[dict[str, Any]]) -> dict[str, str]:
    return {name.split("/")[1]: item["value"] for name, item in _env(objects)
            if item["name"] == "BLAZAR_EVENTS_EGRESS_ALLOWED_NETWORKS"}  # fmt: skip


@pytest.mark.parametrize("knative", [True, False])
def test_every_component_that_checks_sinks_gets_the_one_egress_policy(knative: bool) -> None:
    values = merged(_values("one-egress-policy"), {"knative": {"enabled": knative}})
    policies = _egress(render(values))
    checkers = {"api", "operator", "function" if knative else "broker"}
    assert {name.rsplit("-", 1)[1] for name in policies} == checkers
    assert set(policies.values()) == {"10.20.0.0/16"}
    assert "Deprecated values" not in notes(values)


def test_the_deprecated_per_component_lists_still_apply_until_egress_is_set() -> None:
    """An upgrade with the old values changes no pod's policy, and the notes say what to set."""
    values = _values("private-tenant-networks")
    policies = _egress(render(values))
    assert policies["blazar-events-api"] == "10.20.0.0/16"
    assert policies["blazar-events-function"] == "10.20.0.0/16,10.96.0.0/12"
    assert policies["blazar-events-operator"] == ""
    assert "egress.allowedNetworks" in notes(values)
    values = merged(values, {"egress": {"allowedNetworks": ["10.30.0.0/16"]}})
    assert set(_egress(render(values)).values()) == {"10.30.0.0/16"}
