"""Check strings shared by every resource, in Blazar's style."""

from __future__ import annotations

from oslo_policy import policy

RULE_ADMIN = "rule:admin"
RULE_PROJECT_READER_OR_ADMIN = "rule:project_reader_or_admin"
RULE_PROJECT_MEMBER_OR_ADMIN = "rule:project_member_or_admin"
RULE_ANY = "@"

rules = [
    policy.RuleDefault("admin", "is_admin:True or role:admin", "Cloud administrator"),
    policy.RuleDefault(
        "project_member",
        "role:member and project_id:%(project_id)s",
        "A member of the project that owns the subscription",
    ),
    policy.RuleDefault(
        "project_reader",
        "role:reader and project_id:%(project_id)s",
        "A reader of the project that owns the subscription",
    ),
    policy.RuleDefault(
        "project_member_or_admin", "rule:project_member or rule:admin", "Default for writes"
    ),
    policy.RuleDefault(
        "project_reader_or_admin",
        "rule:project_reader or rule:project_member or rule:admin",
        "Default for reads",
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
