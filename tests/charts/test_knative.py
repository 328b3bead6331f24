"""The chart's Knative mode is as safe as the standalone one: who may reach the function,
the key of the Triggers' tokens, and the Knative version the tenant rule relies on."""

from __future__ import annotations

from typing import Any

import pytest

from tests.charts.render import REQUIRED, merged, notes, render, template


def _one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [found] = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def _env(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    [container] = obj["spec"]["template"]["spec"]["containers"]
    return {item["name"]: item for item in container["env"]}


def test_only_knatives_data_plane_may_connect_to_the_function() -> None:
    objects = render(REQUIRED)
    policy = _one(objects, "NetworkPolicy", "blazar-events-function")
    function = _one(objects, "Service", "blazar-events-function")
    pod_labels = function["spec"]["template"]["metadata"]["labels"]
    selector = policy["spec"]["podSelector"]["matchLabels"]
    assert selector and selector.items() <= pod_labels.items()
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    [rule] = policy["spec"]["ingress"]
    [source] = rule["from"]
    assert set(source) == {"namespaceSelector"}  # no podSelector alone: not "any pod here"
    [expression] = source["namespaceSelector"]["matchExpressions"]
    assert expression["key"] == "kubernetes.io/metadata.name"
    assert "knative-eventing" in expression["values"]
    # Nothing else in the cluster is admitted: no ipBlock, no empty selector.
    assert expression["operator"] == "In" and "" not in expression["values"]


def test_the_network_policy_follows_the_values() -> None:
    values = merged(REQUIRED, {"function": {"networkPolicy": {"fromNamespaces": ["kn-data"]}}})
    policy = _one(render(values), "NetworkPolicy", "blazar-events-function")
    expression = policy["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchExpressions"]
    assert expression[0]["values"] == ["kn-data"]
    off = merged(REQUIRED, {"function": {"networkPolicy": {"enabled": False}}})
    assert not [o for o in render(off) if o["kind"] == "NetworkPolicy"]
    standalone = merged(REQUIRED, {"knative": {"enabled": False}})
    assert not [o for o in render(standalone) if o["kind"] == "NetworkPolicy"]


@pytest.mark.parametrize("secret", ["", "my-token"])
def test_operator_and_function_read_one_token_key_from_a_secret(secret: str) -> None:
    values = merged(REQUIRED, {"function": {"token": {"existingSecret": secret}}})
    objects = render(values)
    function = _env(_one(objects, "Service", "blazar-events-function"))
    operator = _env(_one(objects, "Deployment", "blazar-events-operator"))
    fn_key = function["BLAZAR_EVENTS_FUNCTION_TOKEN_KEY"]
    op_key = operator["BLAZAR_EVENTS_OPERATOR_TOKEN_KEY"]
    assert "value" not in fn_key and "value" not in op_key
    assert fn_key["valueFrom"] == op_key["valueFrom"]
    name = secret or "blazar-events-function-token"
    assert fn_key["valueFrom"]["secretKeyRef"] == {"name": name, "key": "key"}
    assert not [o for o in objects if o["kind"] == "Secret"]  # the installer creates it


def test_the_standalone_operator_needs_no_token_key() -> None:
    objects = render(merged(REQUIRED, {"knative": {"enabled": False}}))
    assert "BLAZAR_EVENTS_OPERATOR_TOKEN_KEY" not in _env(
        _one(objects, "Deployment", "blazar-events-operator")
    )


@pytest.mark.parametrize("version", ["1.11.3", "1.9", "0.26.0", "v1.11.0"])
def test_a_knative_without_trigger_filters_by_default_is_refused(version: str) -> None:
    result = template(merged(REQUIRED, {"knative": {"version": version}}))
    assert result.returncode != 0
    assert f"knative.version {version}" in result.stderr and "1.12.0 or later" in result.stderr


@pytest.mark.parametrize("version", ["1.12.0", "1.12", "v1.14.2", "1.16.0", "2.0.0"])
def test_a_knative_with_trigger_filters_is_accepted(version: str) -> None:
    assert render(merged(REQUIRED, {"knative": {"version": version}}))


def test_the_version_check_is_knative_modes_only() -> None:
    values = merged(REQUIRED, {"knative": {"enabled": False, "version": "1.0.0"}})
    assert render(values)


@pytest.mark.parametrize("version", ["latest", "", "1", "1.12.0-rc1 ", "one.two"])
def test_the_schema_refuses_a_version_that_is_not_one(version: str) -> None:
    result = template(merged(REQUIRED, {"knative": {"version": version}}))
    assert result.returncode != 0 and "/knative/version" in result.stderr


def test_the_notes_say_which_secret_holds_the_token_key() -> None:
    text = notes(merged(REQUIRED, {"function": {"token": {"existingSecret": "my-token"}}}))
    assert "create secret generic my-token --from-literal=key=" in text
    assert "my-token" not in notes(merged(REQUIRED, {"knative": {"enabled": False}}))
