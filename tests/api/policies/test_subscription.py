"""Who may do what to a subscription by default: readers read, members write, in their own
project only; crossing projects and dedicated functions are the admin's."""

from __future__ import annotations

import pytest
from oslo_context.context import RequestContext

from api.access import Policy
from api.policies import subscription

READS = {"list", "get", "get_trigger", "list_deliveries"}
WRITES = {"create", "update", "patch", "delete", "rotate_secret", "replay", "test", "snapshot"}
ADMIN_ONLY = {"list_all_projects", "create_cross_project", "dedicated_function"}

READER = RequestContext(project_id="p-a", user_id="r", roles=["reader"])
MEMBER = RequestContext(project_id="p-a", user_id="m", roles=["member", "reader"])
STRANGER = RequestContext(project_id="p-b", user_id="s", roles=["member", "reader"])
ADMIN = RequestContext(project_id="admin", user_id="a", roles=["admin"])


@pytest.fixture(scope="module")
def decide() -> Policy:
    return Policy(None)


def allowed(decide: Policy, who: RequestContext, target: str = "p-a") -> set[str]:
    every = READS | WRITES | ADMIN_ONLY
    return {name for name in every if decide.allows(subscription.PREFIX % name, target, who)}


def test_every_rule_is_in_one_of_the_three_groups() -> None:
    names = {
        rule.name.removeprefix("blazar-events:subscription:") for rule in subscription.list_rules()
    }
    assert names == READS | WRITES | ADMIN_ONLY


def test_a_reader_reads_and_a_member_also_writes_in_their_project(decide: Policy) -> None:
    assert allowed(decide, READER) == READS
    assert allowed(decide, MEMBER) == READS | WRITES


def test_another_projects_member_may_do_nothing_with_it(decide: Policy) -> None:
    assert allowed(decide, STRANGER) == set()
    assert allowed(decide, MEMBER, "*") == set()  # the all-projects subscriptions are the admin's


def test_the_admin_may_do_everything_anywhere(decide: Policy) -> None:
    assert allowed(decide, ADMIN) == READS | WRITES | ADMIN_ONLY
    assert allowed(decide, ADMIN, "*") == READS | WRITES | ADMIN_ONLY


def test_every_rule_documents_its_route_for_the_sample_generator() -> None:
    for rule in subscription.list_rules():
        ((operation),) = rule.operations
        assert operation["path"].startswith("/v1/subscriptions")
        assert operation["method"] in {"GET", "POST", "PUT", "PATCH", "DELETE"}
        assert rule.scope_types == ["project"]
