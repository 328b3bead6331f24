"""The shared check strings, through oslo.policy as the API runs it: a role counts only in the
project that owns the subscription, and an admin counts everywhere."""

from __future__ import annotations

import pytest
from oslo_context.context import RequestContext

from api.access import Policy
from api.policies import base


def caller(project: str, *roles: str) -> RequestContext:
    return RequestContext(project_id=project, user_id="u", roles=list(roles))


@pytest.fixture(scope="module")
def decide() -> Policy:
    return Policy(None)


@pytest.mark.parametrize(
    ("rule", "who", "target", "allowed"),
    [
        ("project_member", caller("p-a", "member"), "p-a", True),
        ("project_member", caller("p-a", "member"), "p-b", False),
        ("project_member", caller("p-a", "reader"), "p-a", False),
        ("project_reader", caller("p-a", "reader"), "p-a", True),
        ("project_reader", caller("p-b", "reader"), "p-a", False),
        ("project_reader_or_admin", caller("p-a", "member"), "p-a", True),  # a member reads
        ("project_member_or_admin", caller("p-a", "reader"), "p-a", False),
        ("project_member_or_admin", caller("other", "admin"), "p-a", True),
        ("admin", caller("p-a", "member", "reader"), "p-a", False),
        ("admin", caller("p-a", "admin"), "*", True),
    ],
)
def test_the_project_rules(
    decide: Policy, rule: str, who: RequestContext, target: str, allowed: bool
) -> None:
    assert decide.allows(rule, target, who) is allowed


def test_the_rules_are_named_as_the_resources_check_strings_use_them() -> None:
    names = {rule.name for rule in base.list_rules()}
    for check in (base.RULE_ADMIN, base.RULE_PROJECT_READER_OR_ADMIN,
                  base.RULE_PROJECT_MEMBER_OR_ADMIN):  # fmt: skip
        assert check.removeprefix("rule:") in names
