"""Policies of /v1/subscriptions and its sub-resources. The target is the subscription's project."""

from __future__ import annotations

from oslo_policy import policy

from api.policies import base

PREFIX = "blazar-events:subscription:%s"
ROOT = "/v1/subscriptions"
ONE = "/v1/subscriptions/{subscription_id}"


def _rule(name: str, check: str, text: str, method: str, path: str) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name=PREFIX % name,
        check_str=check,
        description=text,
        operations=[{"method": method, "path": path}],
        scope_types=["project"],
    )


rules = [
    _rule("create", base.RULE_PROJECT_MEMBER_OR_ADMIN, "Create a subscription", "POST", ROOT),
    _rule("list", base.RULE_PROJECT_READER_OR_ADMIN, "List subscriptions", "GET", ROOT),
    _rule(
        "list_all_projects", base.RULE_ADMIN, "List the subscriptions of every project", "GET", ROOT
    ),
    _rule(
        "create_cross_project",
        base.RULE_ADMIN,
        "Create or move a subscription for another project or for all projects ('*')",
        "POST",
        ROOT,
    ),
    _rule(
        "dedicated_function",
        base.RULE_ADMIN,
        "Give a subscription a dedicated delivery function (Knative mode: pods of its own, "
        "always on); also capped per project by [api] max_dedicated_functions_per_project",
        "POST",
        ROOT,
    ),
    _rule("get", base.RULE_PROJECT_READER_OR_ADMIN, "Show a subscription", "GET", ONE),
    _rule("update", base.RULE_PROJECT_MEMBER_OR_ADMIN, "Replace a subscription", "PUT", ONE),
    _rule("patch", base.RULE_PROJECT_MEMBER_OR_ADMIN, "Change a subscription", "PATCH", ONE),
    _rule("delete", base.RULE_PROJECT_MEMBER_OR_ADMIN, "Delete a subscription", "DELETE", ONE),
    _rule(
        "rotate_secret",
        base.RULE_PROJECT_MEMBER_OR_ADMIN,
        "Rotate the signing secret",
        "POST",
        ONE + "/secret",
    ),
    _rule(
        "get_trigger",
        base.RULE_PROJECT_READER_OR_ADMIN,
        "Show the rendered Knative Trigger",
        "GET",
        ONE + "/trigger",
    ),
    _rule(
        "list_deliveries",
        base.RULE_PROJECT_READER_OR_ADMIN,
        "Show the delivery attempt log",
        "GET",
        ONE + "/deliveries",
    ),
    _rule(
        "replay",
        base.RULE_PROJECT_MEMBER_OR_ADMIN,
        "Re-deliver the events since a time",
        "POST",
        ONE + "/replay",
    ),
    _rule("test", base.RULE_PROJECT_MEMBER_OR_ADMIN, "Send a test event", "POST", ONE + "/test"),
    _rule(
        "snapshot",
        base.RULE_PROJECT_MEMBER_OR_ADMIN,
        "Send the latest state of each live lease the subscription sees",
        "POST",
        ONE + "/snapshot",
    ),
]


def list_rules() -> list[policy.DocumentedRuleDefault]:
    return rules
