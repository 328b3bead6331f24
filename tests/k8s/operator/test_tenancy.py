"""Whose leases a resource may subscribe to: its namespace's project, or any in admin namespaces."""

from __future__ import annotations

import pytest

from blazar_events.errors import InvalidInput, PolicyNotAuthorized
from k8s.operator.tenancy import to_project

ADMIN = {"blazar-events"}


def test_a_tenant_namespace_gets_its_annotated_project() -> None:
    assert to_project("team-a", None, "p-a", ADMIN) == "p-a"
    assert to_project("team-a", "p-a", "p-a", ADMIN) == "p-a"


@pytest.mark.parametrize("asked", ["p-b", "*"])
def test_a_tenant_namespace_cannot_name_another_project(asked: str) -> None:
    with pytest.raises(PolicyNotAuthorized, match="only admin namespaces"):
        to_project("team-a", asked, "p-a", ADMIN)


def test_an_unbound_namespace_is_refused_with_the_fix() -> None:
    with pytest.raises(PolicyNotAuthorized, match=r"events\.blazar\.openstack\.org/project-id"):
        to_project("team-a", "p-a", None, ADMIN)


def test_an_admin_namespace_names_any_project_and_must_name_one() -> None:
    assert to_project("blazar-events", "*", None, ADMIN) == "*"
    assert to_project("blazar-events", "p-z", "p-a", ADMIN) == "p-z"
    assert to_project("blazar-events", None, "p-a", ADMIN) == "p-a"
    with pytest.raises(InvalidInput, match="projectId: required"):
        to_project("blazar-events", None, None, ADMIN)
